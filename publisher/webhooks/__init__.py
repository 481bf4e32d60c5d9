"""Outgoing webhooks: signed activity events delivered to the endpoints admins registered."""
