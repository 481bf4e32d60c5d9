"""Email and web templates: package data (Jinja, MJML, text, labels), not code."""
