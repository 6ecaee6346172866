# Two commands on a fresh machine: `make repro` (set-up + the default pipeline), `make test`.
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
export PATH := $(BIN):$(PATH)

.PHONY: setup repro test test-fast browser site lab bench clean-venv

setup: $(STAMP)

# torch first, pinned: it resolves to the local CPU wheel instead of GBs of CUDA packages.
$(STAMP): pyproject.toml
	test -d $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check torch==2.13.0
	$(BIN)/pip install -q --disable-pip-version-check -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# Validate every experiment's parameters before DVC touches any output.
repro: setup
	python -m rlrepro check
	dvc repro

# Tests run in as many processes as the machine has cores (pytest-xdist); the ones on the smoke
# pipeline's outputs share one process, which runs the pipeline once (tests/conftest.py).
PYTEST := python -m pytest -q -n auto --dist loadgroup

test: setup browser
	$(PYTEST)

# Debian's Chromium and ChromeDriver for the site's browser test (tests/test_site.py), installed
# when missing and this is root (as on CI); elsewhere the test says what to install and skips.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null \
	  || { [ "$$(id -u)" = 0 ] && apt-get update -qq \
	       && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } \
	  || echo "make browser: no Chromium (apt-get install chromium chromium-driver as root); the site's browser test will skip"

# The static site under site/: results pages, scorecard and executed notebooks, opened from
# site/index.html without a server (README, "Reading the results").
site: setup
	python -m rlrepro.site

# The tests that execute no notebook and no pipeline: a few minutes, for development.
test-fast: setup
	$(PYTEST) -m "not pipeline"

# JupyterLab at the repository root (params.yaml, README, data/figures in reach). The tracked
# notebook sources are notebooks/*.py; `jupytext --sync` (re)creates their local .ipynb copies.
lab: setup
	jupytext --sync notebooks/*.py
	jupyter lab --ServerApp.root_dir=. $(if $(filter 0,$(shell id -u)),--allow-root)

bench: setup
	pip install -q --disable-pip-version-check -e ".[dev,bench]"
	python benchmarks/gridworld_rlsp_speed.py
	python benchmarks/agents_speed.py
	python benchmarks/agents_vs_sb3.py

clean-venv:
	rm -rf $(VENV)
