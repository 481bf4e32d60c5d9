"""The web pages in a real browser: Debian's Chromium driven through Playwright."""
