"""Tests of ``publisher.campaigns``."""
