"""The JSON API for programs: campaigns and posts, with bearer tokens."""
