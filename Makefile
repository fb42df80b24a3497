# Agora: the two set-up commands are `make devnet` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: devnet test soak mutation lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

devnet: $(STAMP)
	$(VENV)/bin/agora devnet up

test: $(STAMP)
	$(PY) -m pytest -q

soak: $(STAMP)
	$(PY) -m pytest -q -m soak

# The mutation tier (docs/TESTING.md, "Mutation"): not part of `make test`. Two workers at
# low priority; MUTANTS narrows the run, e.g. `make mutation MUTANTS='commerce.*'`.
MUTANTS ?=
mutation: $(STAMP)
	nice -n 10 $(VENV)/bin/mutmut run --max-children 2 $(MUTANTS)
	$(PY) tests/mutation_report.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy consensus commerce

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .devnet mutants
