"""Tests of ``publisher.webhooks``."""
