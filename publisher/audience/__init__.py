"""Audience: who a campaign reaches within its lists (segments, topics), and privacy requests."""
