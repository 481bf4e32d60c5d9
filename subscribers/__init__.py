"""Subscribers: lists, people, their subscriptions and consent, suppression, unsubscribe."""
