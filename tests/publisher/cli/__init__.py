"""Tests of ``publisher.cli``."""
