"""Worker: Celery tasks (thin), the send pipeline's flows and the scheduler's periodic work."""
