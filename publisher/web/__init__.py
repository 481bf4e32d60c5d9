"""The web process's routes: public subscriber pages and the admin (pages and JSON API)."""
