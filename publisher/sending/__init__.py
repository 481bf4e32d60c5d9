"""Sending: deliveries planned per recipient, attempts claimed per provider call, their messages."""
