"""Forms of the admin pages: plain fields to and from the services' input types."""
