"""Accounts: the people who use the admin, their sessions and API tokens, and the login limit."""
