"""Admin routes: pages for editors and admins (campaigns, posts, subscribers, stats, accounts)."""
