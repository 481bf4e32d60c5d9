"""Tests of ``publisher.audience``."""
