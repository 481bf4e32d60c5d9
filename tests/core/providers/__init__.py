"""Tests of ``core.providers``."""
