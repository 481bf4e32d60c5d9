"""Tests of ``subscribers``."""
