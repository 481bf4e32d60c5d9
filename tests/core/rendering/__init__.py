"""Tests of ``core.rendering``."""
