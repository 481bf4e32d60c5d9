"""Tracking: what comes back per delivery, from providers' events and our own opens and clicks."""
