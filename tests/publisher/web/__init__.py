"""Tests of ``publisher.web``."""
