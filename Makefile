# Two entry points for a fresh machine: `make demo` and `make test`.
# Everything they need is installed here, from the lock file, into .venv.
VENV    ?= .venv
PY      := $(VENV)/bin/python
UV_VER  := 0.13.9
STAMP   := $(VENV)/.installed

.PHONY: install demo test lint contracts bench clean

# A new sub-package changes the editable install's package map, so every __init__.py is a prerequisite.
PACKAGES := $(shell find skyrelay components blueprints policies runtime provider -name __init__.py 2>/dev/null)

$(STAMP): requirements.lock pyproject.toml setup.py $(PACKAGES)
	test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --no-compile uv==$(UV_VER)
	# uv skips .pyc compilation by default and reuses its wheel cache between runs.
	$(VENV)/bin/uv pip sync -q --python $(PY) requirements.lock
	$(VENV)/bin/uv pip install -q --python $(PY) --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/skyrelay demo

lint: install
	$(VENV)/bin/ruff check .
	$(PY) scripts/import_tree.py >/dev/null
	cd build/import-tree && ../../$(VENV)/bin/lint-imports ../../.importlinter

test: install
	bash scripts/system-deps.sh
	bash scripts/node-peers.sh
	$(VENV)/bin/ruff check .
	$(PY) scripts/import_tree.py >/dev/null
	cd build/import-tree && ../../$(VENV)/bin/lint-imports ../../.importlinter
	$(PY) -m pytest

# Benchmarks print figures beside a baseline measured in the same run; they are not tests.
bench: install
	bash scripts/system-deps.sh
	$(PY) bench/plan.py
	$(PY) bench/policy_eval.py
	$(PY) bench/router_overhead.py
	$(PY) bench/jobs.py --workers 2
	$(PY) bench/lambda_cold.py
	$(PY) bench/functions_cold.py
	$(PY) bench/cloud_run_cold.py
	$(PY) bench/batch.py

lock:
	$(VENV)/bin/uv pip compile -q pyproject.toml --extra iac --extra cli --extra runtime --extra dev --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) build *.egg-info
