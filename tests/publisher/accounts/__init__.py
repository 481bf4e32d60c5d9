"""Tests of ``publisher.accounts``."""
