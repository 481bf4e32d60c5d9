"""Tests of ``publisher.tracking``."""
