"""Herald's tests, mirroring the packages; shared fixtures in ``tests.fixtures``."""
