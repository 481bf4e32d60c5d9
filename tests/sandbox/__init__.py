"""Tests of ``sandbox``."""
