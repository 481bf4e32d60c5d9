"""Tests of ``publisher.stats``."""
