# Reproducible companion book: `make book` goes from a clean clone to _build/html.
#   make install    venv + Python deps (+ Debian chromium for the browser test, when root)
#   make vendor     MathJax / ipywidgets JS into book/_static/vendor (offline book)
#   make runs       train the book's runs (or find them in runs/) on all cores
#   make notebooks  execute the book's notebooks in place with papermill
#                   (PRESET=fast SEEDS="0 1 2" DEVICE=cpu by default)
#   make html       build the book from the stored outputs (no execution)
#   make book       install + vendor + runs + notebooks + html
#   make test       unit tests, nbval on the notebooks, browser test
#   make test-fast  the quick unit tests only (no subprocess, notebook, browser or long training;
#                   tests marked `slow` are left out), a few minutes at most
#   make figure FIG=<name>   regenerate one paper figure

SHELL   := /bin/bash
PYTHON3 ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
JB      := $(VENV)/bin/jupyter-book
PYTEST  := $(PY) -m pytest -p no:cacheprovider

PRESET  ?= fast
SEEDS   ?= 0 1 2
DEVICE  ?= cpu
FIG     ?=
export PRESET SEEDS DEVICE

.PHONY: install vendor runs notebooks book html test test-fast test-unit test-nbval test-browser figure clean

$(PY):
	$(PYTHON3) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip

install: $(PY)
	@if [ -f requirements.txt ]; then $(PY) -m pip install -r requirements.txt; \
	 else echo "install: requirements.txt not found, skipping"; fi
	@if [ -f pyproject.toml ] || [ -f setup.py ]; then $(PY) -m pip install -e .; \
	 else echo "install: no pyproject.toml/setup.py, skipping 'pip install -e .'"; fi
	@# the notebooks' "python3" kernel must be this venv's python
	@if $(PY) -c "import ipykernel" 2>/dev/null; then \
	   $(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)" >/dev/null; \
	 else echo "install: ipykernel not installed in $(VENV)"; fi
	@# torch.compile (the default kernels) builds C++ on the CPU
	@if ! command -v g++ >/dev/null; then \
	   if [ "$$(id -u)" = 0 ]; then \
	     apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y g++; \
	   else echo "install: g++ missing; run 'sudo apt-get install -y g++' (or train with --set kernels=eager)"; fi; \
	 fi
	@if [ ! -x /usr/bin/chromium ]; then \
	   if [ "$$(id -u)" = 0 ]; then \
	     apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	   else echo "install: /usr/bin/chromium missing; run 'sudo apt-get install -y chromium' for the browser test"; fi; \
	 fi

vendor:
	bash scripts/vendor_assets.sh

# train (or find in runs/) every run the book uses, on all cores
runs:
	$(PY) scripts/train_book_runs.py

notebooks:
	$(PY) scripts/run_notebooks.py

html:
	@test -f book/_static/vendor/VERSIONS || { echo "html: vendored JS missing, run 'make vendor' first" >&2; exit 1; }
	$(JB) build . -W

# sequential on purpose (safe under make -j)
book:
	$(MAKE) install
	$(MAKE) vendor
	$(MAKE) runs
	$(MAKE) notebooks
	$(MAKE) html

test-unit:
	$(PYTEST) tests --ignore=_build --ignore=tests/test_browser.py -q

# the unit tests not marked `slow` (see the markers in pyproject.toml), in the venv `make install` made
test-fast:
	$(PYTEST) tests --ignore=_build --ignore=tests/test_browser.py -m "not slow" -q

test-nbval:
	$(PYTEST) --nbval book/*.ipynb --nbval-sanitize-with book/nbval_sanitize.cfg -q

test-browser:
	$(PYTEST) tests/test_browser.py -q

# the README's test command: sets up what is missing (venv, packages, chromium, vendored JS), then tests
test:
	$(MAKE) install
	$(MAKE) vendor
	$(MAKE) test-unit
	$(MAKE) test-nbval
	$(MAKE) test-browser

figure:
	@if [ -z "$(FIG)" ]; then echo "usage: make figure FIG=<name>"; exit 2; fi
	$(PY) -m icmeta figure $(FIG)

clean:
	rm -rf _build .pytest_cache
	find . -path ./.venv -prune -o -path ./node_modules -prune -o -name __pycache__ -type d -print -exec rm -rf {} +
