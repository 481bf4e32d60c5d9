"""Delivery statistics: aggregates kept as events arrive, queries for the dashboard, metrics."""
