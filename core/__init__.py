"""Herald's core: settings, database, Celery app, tokens, email messages and providers.

Nothing in this package imports a domain package (subscribers, publisher, worker).
"""
