# Agora: the two set-up commands are `make devnet` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: devnet test soak mutation lint clean web web-deps chromium

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The web side (web/: the TypeScript SDK and the app every node serves at GET /): npm ci from
# the one lock file, then the build; rebuilt when a source is newer than the built app.
WEB_STAMP := web/node_modules/.installed-stamp
APP_INDEX := web/app/dist/index.html
WEB_SOURCES := $(shell find web/sdk/src web/app/src web/app/public -type f 2>/dev/null) \
	web/app/index.html web/app/vite.config.ts web/app/tsconfig.json web/sdk/tsconfig.json

$(WEB_STAMP): web/package-lock.json web/package.json web/sdk/package.json web/app/package.json
	@command -v npm >/dev/null 2>&1 || { echo "make: the web app needs Node.js >= 20.19 and npm (https://nodejs.org or your distribution's nodejs package)" >&2; exit 1; }
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $(WEB_STAMP)

$(APP_INDEX): $(WEB_STAMP) $(WEB_SOURCES)
	cd web && npm run --silent build
	touch $(APP_INDEX)

web-deps: $(WEB_STAMP)

web: $(APP_INDEX)

# The browser tests drive Debian's chromium (tests/web_browser): installed here when missing
# and we are root, otherwise one line says how.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else \
	    echo "make: the browser tests need Debian's chromium: run 'sudo apt-get install chromium fonts-noto-cjk', then make test" >&2; exit 1; \
	  fi; }

devnet: $(STAMP) $(APP_INDEX)
	$(VENV)/bin/agora devnet up

# The default suite (all but the soak tier) in two parts, docs/TESTING.md "Workers": the
# tests not marked `serial` on TEST_WORKERS processes (pytest-xdist), then the `serial` ones
# alone. `pytest -q` runs the same tests in one process.
TEST_WORKERS ?= 2
test: $(STAMP) $(APP_INDEX) chromium
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup -m 'not soak and not serial'
	$(PY) -m pytest -q -m 'serial and not soak'

soak: $(STAMP)
	$(PY) -m pytest -q -m soak

# The mutation tier (docs/TESTING.md, "Mutation"): not part of `make test`. Two workers at
# low priority; MUTANTS narrows the run, e.g. `make mutation MUTANTS='commerce.*'`; SAMPLE
# runs and scores a deterministic sample, e.g. `make mutation SAMPLE=consensus=25`
# (it names mutants from mutants/, so a run must have generated them before).
MUTANTS ?=
SAMPLE ?=
mutation: $(STAMP)
	$(if $(SAMPLE),test -d mutants || { echo "SAMPLE needs mutants/: run mutmut once"; exit 1; })
	nice -n 10 $(VENV)/bin/mutmut run --max-children 2 $(MUTANTS) \
	  $(if $(SAMPLE),$$($(PY) tests/mutation_report.py --sample $(SAMPLE) --names))
	$(PY) tests/mutation_report.py $(if $(SAMPLE),--sample $(SAMPLE))

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy consensus commerce

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .devnet mutants web/node_modules \
	  web/app/dist web/sdk/dist web/sdk/build tests/web_browser/artifacts
