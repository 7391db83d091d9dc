# Two commands: `make demo` (create the environment, install, start the demo) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install browser node-packages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall when the pinned set or the project metadata changes.
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test,google]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/creditgauge demo

# Debian's chromium for the browser tests (never a downloaded browser). Needs root, as on this project's machines.
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# The Vercel AI SDK's test application (tests/otlp/vercel_ai), at the versions its package-lock.json pins. Without
# Node.js its test skips, saying so.
NODE_APP := tests/otlp/vercel_ai
node-packages: $(NODE_APP)/node_modules/.package-lock.json

$(NODE_APP)/node_modules/.package-lock.json: $(NODE_APP)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix $(NODE_APP) --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the Vercel AI SDK test will skip"; fi

# ruff for style, lint-imports for the layers (the contracts in pyproject.toml, README "Development"), mypy --strict.
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy

test: $(STAMP) browser node-packages lint
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache $(NODE_APP)/node_modules
