"""Publisher: posts, campaigns, rendering, deliveries; the web app and the ``herald`` CLI."""
