"""Posts: what editors write and import, checked once for every way in, and their review."""
