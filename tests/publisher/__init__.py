"""Tests of ``publisher``."""
