"""Tests of ``publisher.posts``."""
