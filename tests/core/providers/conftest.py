"""Fixtures of the provider tests: the SMTP server of ``tests.fixtures.smtp_server``."""

from tests.fixtures.smtp_server import certificate, providers, server, start_server, tls_server

__all__ = ["certificate", "providers", "server", "start_server", "tls_server"]
