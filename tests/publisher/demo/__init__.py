"""Tests of ``publisher.demo``."""
