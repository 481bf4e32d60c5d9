"""Public routes: subscriber pages, the archive, tracking URLs and provider webhooks."""
