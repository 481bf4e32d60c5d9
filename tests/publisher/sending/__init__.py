"""Tests of ``publisher.sending``."""
