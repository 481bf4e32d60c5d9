"""The demo: sample content in a policy centre's shape, sent through the real pipeline."""
