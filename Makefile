# Herald: `make run` starts the service on the embedded default; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench bench-stats demo migrate chromium spamassassin clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

## run: install, then `herald up` (migrates, starts web + worker + scheduler on :8000)
run: $(STAMP)
	$(BIN)/herald up

## demo: sample content and two campaigns through the real worker (on an empty database)
demo: $(STAMP)
	$(BIN)/herald demo

migrate: $(STAMP)
	$(BIN)/herald migrate

## env-example: rewrite .env.example from the settings (after adding or changing one)
.PHONY: env-example
env-example: $(STAMP)
	$(BIN)/herald config example --output .env.example

## test: the whole suite (PostgreSQL, Redis, a real browser and SpamAssassin included)
test: $(STAMP) chromium spamassassin
	$(BIN)/pytest

## chromium: the browser the web tests drive (Debian's package; never a downloaded one)
chromium:
	@test -x /usr/bin/chromium || { \
		echo "installing Debian's chromium for the browser tests"; \
		(apt-get install -y -q chromium >/dev/null 2>&1 || \
		 (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)); }
	@# A Japanese font, so the screenshots show the Japanese text (cosmetic: never fails).
	@dpkg -s fonts-ipafont-gothic >/dev/null 2>&1 || \
		apt-get install -y -q fonts-ipafont-gothic >/dev/null 2>&1 || \
		echo "no Japanese font: screenshots show boxes for Japanese text"

## spamassassin: the judge the wire tests score every message with (Debian's package)
spamassassin:
	@command -v spamassassin >/dev/null || { \
		echo "installing Debian's spamassassin for the wire tests"; \
		(apt-get install -y -q spamassassin >/dev/null 2>&1 || \
		 (apt-get update -q >/dev/null && apt-get install -y -q spamassassin >/dev/null)); }

## wheel-check: build the wheel, install it into a fresh venv, run it from an empty folder
.PHONY: wheel-check
wheel-check: $(STAMP)
	$(BIN)/pytest tests/test_distribution.py

## lint: ruff and mypy (strict on our packages)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## bench: throughput and memory figures as JSON lines
bench: $(STAMP)
	$(BIN)/python bench/send.py
	$(BIN)/python bench/webhooks.py
	$(BIN)/python bench/imports.py
	$(BIN)/python bench/stats.py

## bench-stats: statistics pages and API latency with 10M events on PostgreSQL (a few minutes)
bench-stats: $(STAMP)
	$(BIN)/python bench/stats.py

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache

## lock: pin the runtime dependencies with their hashes into requirements.lock (the image
## installs exactly these); pip-tools runs from a throwaway venv, never a project dependency
.PHONY: lock
lock:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
		$(PYTHON) -m venv "$$tmp" && \
		"$$tmp/bin/pip" install --quiet pip-tools && \
		"$$tmp/bin/pip-compile" --quiet --generate-hashes --strip-extras \
			--no-emit-index-url --no-emit-find-links --no-emit-trusted-host \
			--output-file requirements.lock pyproject.toml
