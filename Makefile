# The two commands of the README: `make lab` and `make test`. Everything else is what they stand on.
#   make setup   venv in .venv with the first supported Python (3.11, else 3.12; PYTHON=python3.12 chooses),
#                the project installed with that Python's pins (GPU=1: CUDA build of MXNet)
#   make data    find Fashion-MNIST offline, or install Debian's dataset-fashion-mnist when root
#   make lab     set up, then JupyterLab on 127.0.0.1 with token auth, opened on notebooks/00_index.ipynb
#   make test    set up, then the unit tests and `pytest --nbval notebooks/`; then, on every other supported
#                Python found, the unit tests and notebooks 01-03 in a venv of its own (.venv-3.12)
#   make slides  static reveal.js decks in slides/ that work offline (JS from pinned npm packages in build/js)
#   make image   the container image (Dockerfile; GPU=1: CUDA build); make image-test: build it, test it;
#                make image-benchmark: its build time, size and memory, recorded in benchmarks/

SHELL := /bin/bash
VENV  ?= .venv
PY    := $(VENV)/bin/python
PORT  ?= 8888
GPU   ?= 0
EXTRA := $(if $(filter 1,$(GPU)),gpu,cpu)
# Optional extras of pyproject.toml installed beside the MXNet build: `test` (Playwright); the image adds `hub`.
EXTRAS ?= test
# A hung kernel must not hang CI: every notebook run has an outer limit too.
NBVAL_TIMEOUT ?= 1800
# MXNet 1.9 starts one OpenMP thread per two cores unless told (it assumes hyper-threading): on a 2-core
# laptop that halves the speed of every notebook and test. The tests use every core. `make lab` leaves the
# choice to the notebooks' check_environment() (d2l_extras.use_all_cores): every core, or a share of them
# when other MXNet processes are already computing. An OMP_NUM_THREADS you set wins in both.
unit nbval: export OMP_NUM_THREADS ?= $(shell nproc 2>/dev/null || echo 2)

# The Pythons `make setup` accepts, in order of preference (pyproject.toml's requires-python and
# d2l_extras/compat.py agree, tested). PYTHON=... chooses: a command, a path or a version (python3.12, 3.12).
# scripts/find-python runs every candidate (PATH, then pyenv's versions) and explains a refusal in one line.
PYTHONS := 3.11 3.12
FIND_PYTHON := PYTHONS='$(PYTHONS)' scripts/find-python
PRINT_VERSION := import sys; print("%d.%d" % sys.version_info[:2])
# The venv's Python: the one PYTHON asks for, else the existing venv's, else the first supported one found.
PY_VERSION := $(shell if [ -n '$(PYTHON)' ]; then $(FIND_PYTHON) --version '$(PYTHON)'; \
	elif [ -x $(PY) ]; then $(PY) -c '$(PRINT_VERSION)'; else $(FIND_PYTHON) --version; fi 2>/dev/null)
# Each Python's pins (pip freeze of a working install): 3.11's since the start; 3.12's with numpy 1.26 and the
# pandas, matplotlib and scipy that match it, d2l installed without its own pins (pyproject.toml).
CONSTRAINTS := $(if $(filter 3.11,$(PY_VERSION)),constraints.txt,$(if $(PY_VERSION),constraints-$(PY_VERSION).txt))
STAMP := $(VENV)/.installed-$(EXTRA)-python$(PY_VERSION)

.PHONY: setup data trust lab test unit nbval other-pythons clean help slides js browser image image-test image-benchmark
help:
	@sed -n 's/^#   //p' Makefile

# JupyterLab settings for `make lab` and the RISE slideshow, installed into the venv, never into the user's home:
# no "news" prompt and no update check (no network in a lecture hall), ArrowUp/ArrowDown move a focused slider
# inside the slideshow and ArrowLeft/ArrowRight change slides there (JupyterLab's notebook shortcuts would take
# them), widget state saved with the notebook. See jupyterlab/overrides.json.
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json
# The Jupyter server's settings, for every server of the venv: the slideshow's server extension
# (d2l_extras/rise_server.py: linear navigation, only the widget manager) and kernels with encrypted transport.
SERVER_SETTINGS := $(VENV)/etc/jupyter/jupyter_server_config.d/d2l-extras.json

setup: $(STAMP) $(LAB_SETTINGS) $(SERVER_SETTINGS)

$(LAB_SETTINGS): jupyterlab/overrides.json $(STAMP)
	@mkdir -p $(@D)
	@cp $< $@.tmp && mv $@.tmp $@

$(SERVER_SETTINGS): jupyterlab/jupyter_server_config.json $(STAMP)
	@mkdir -p $(@D)
	@cp $< $@.tmp && mv $@.tmp $@

$(STAMP): pyproject.toml $(CONSTRAINTS) scripts/find-python
	@if [ -z "$(PY_VERSION)" ]; then \
	  $(FIND_PYTHON) '$(PYTHON)' >/dev/null || exit 1; \
	  echo "error: $(PY) does not run: 'make clean', then 'make setup'" >&2; exit 1; fi
	@have=$$($(PY) -c '$(PRINT_VERSION)' 2>/dev/null); \
	if [ "$$have" != "$(PY_VERSION)" ]; then \
	  python=$$($(FIND_PYTHON) '$(PYTHON)') || exit 1; \
	  if [ -n "$$have" ]; then echo "$(VENV) has Python $$have and Python $(PY_VERSION) was asked for: making it anew"; fi; \
	  if [ -e $(VENV)/pyvenv.cfg ]; then rm -rf $(VENV); fi; echo "Creating $(VENV) with Python $(PY_VERSION) ($$python)"; \
	  $$python -m venv $(VENV) || { \
	    rm -rf $(VENV); \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	      echo "venv failed: installing Debian's python$(PY_VERSION)-venv ..."; \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python$(PY_VERSION)-venv >/dev/null \
	      && $$python -m venv $(VENV); \
	    else echo "error: '$$python -m venv' failed; install python$(PY_VERSION)-venv (Debian/Ubuntu)" >&2; exit 1; fi; }; fi
	@echo "Installing the pinned packages of Python $(PY_VERSION) into $(VENV) ($(EXTRA) build of MXNet) ..."
	@$(PY) -m pip install --quiet --upgrade "pip>=23.2"
	@# The CPU and GPU builds are two packages that both provide `mxnet`: remove the other one first.
	@$(PY) -m pip uninstall --quiet --yes $(if $(filter gpu,$(EXTRA)),mxnet,mxnet-cu112) 2>/dev/null || true
	@$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e ".[$(EXTRA),$(EXTRAS)]"
	@# d2l 1.0.3 pins numpy 1.23.5 & co., which have no wheels for Python 3.12: there pyproject.toml lists what d2l
	@# needs instead, and d2l comes without its pins (on 3.11 it is already installed, with them).
	@$(PY) -m pip install --quiet --no-deps -c $(CONSTRAINTS) d2l
	@rm -f $(VENV)/.installed-*
	@touch $@
	@echo "Set-up done: $(VENV) (Python $(PY_VERSION), $(EXTRA) build of MXNet)."

data: setup
	@$(PY) -m d2l_extras.data --no-download >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Fashion-MNIST not found: installing Debian's dataset-fashion-mnist ..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null; \
	  fi; }
	@$(PY) -m d2l_extras.data

# One address, the index itself: the server's root is the repository (as on Binder), Lab's default URL the index,
# and the log shows warnings and errors only, so the banner's one URL (with the token) is what the terminal shows.
LAB_URL := /lab/tree/notebooks/00_index.ipynb

# LAB_ROOT: the folder served (a copy of the repository, for the tests that save notebooks). Its notebooks are
# trusted first (`make trust`: signed in Jupyter's database, as JupyterLab signs a notebook it saves): their saved
# sliders show as sliders, not as text, and the server does not warn "Notebook ... is not trusted". The container
# image runs `make trust` when it is built (Dockerfile).
LAB_ROOT ?= $(CURDIR)

trust: setup
	@$(VENV)/bin/jupyter trust $(wildcard $(LAB_ROOT)/notebooks/*.ipynb $(LAB_ROOT)/notebooks/*/*.ipynb) >/dev/null

lab: setup data trust
	@$(VENV)/bin/jupyter lab --ip=127.0.0.1 --port=$(PORT) --ServerApp.root_dir="$(LAB_ROOT)" \
	  --LabApp.default_url=$(LAB_URL) --ServerApp.log_level=WARN --LabApp.log_level=WARN \
	  $(if $(filter 0,$(shell id -u)),--allow-root,) $(LAB_ARGS)

unit: setup data browser
	$(PY) -m pytest tests/ $(UNIT_ARGS)

# NBVAL_NOTEBOOKS: what `make nbval` runs (every notebook by default).
NBVAL_NOTEBOOKS ?= notebooks/
nbval: setup data
	@if [ -z "$(strip $(NBVAL_NOTEBOOKS))" ]; then echo "error: NBVAL_NOTEBOOKS names no notebook" >&2; exit 1; fi
	timeout $(NBVAL_TIMEOUT) $(PY) -m pytest --nbval $(NBVAL_NOTEBOOKS)

test: unit nbval other-pythons

# Every other supported Python: the unit tests (less the browser tests and the slide-fit walk, which test what
# Chromium draws, not the Python; about 25 minutes, run once on the venv's Python) and the notebooks below under
# nbval, each Python in a venv of its own. A Python that is not found is skipped, and said so.
NOTEBOOKS_EVERY_PYTHON ?= $(sort $(wildcard notebooks/0[1-3]_*.ipynb))
OTHER_PYTHONS := $(filter-out $(PY_VERSION),$(PYTHONS))
other-pythons:
	@for v in $(OTHER_PYTHONS); do \
	  if ! $(FIND_PYTHON) $$v >/dev/null 2>&1; then echo "note: no Python $$v found: the tests on Python $$v are skipped"; continue; fi; \
	  echo "== Python $$v ($(VENV)-$$v): unit tests, then nbval of $(NOTEBOOKS_EVERY_PYTHON)"; \
	  $(MAKE) --no-print-directory VENV=$(VENV)-$$v PYTHON=$$v UNIT_ARGS="-m 'not slidefit' --ignore=tests/test_browser.py" \
	    NBVAL_NOTEBOOKS="$(NOTEBOOKS_EVERY_PYTHON)" unit nbval || exit 1; \
	done

# The static decks load reveal.js, require.js, jQuery, MathJax 2 and the widget renderer from these pinned
# npm packages (nbconvert's reveal template is written for reveal.js 4.0.2), unpacked without their
# dependencies into $(JS_DIR); `npm pack` checks each tarball against the registry's integrity hash.
# The reveal.js themes' web-font imports are dropped (offline, the theme's fallback fonts are used).
JS_DIR := build/js
# The widget renderer is the release of ipywidgets 8.1.2 (pyproject.toml), the widget protocol the decks embed.
NPM_JS := reveal.js@4.0.2 requirejs@2.3.8 jquery@3.7.1 mathjax@2.7.9 @jupyter-widgets/html-manager@1.0.10

js:
	@if [ "$$(cat $(JS_DIR)/.installed 2>/dev/null)" != "$(NPM_JS)" ]; then \
	  if ! command -v npm >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "npm not found: installing Debian's npm ..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; fi; \
	  if ! command -v npm >/dev/null 2>&1; then \
	    echo "note: npm not found (install Node.js/npm): no offline slide decks; the static-deck browser test will skip."; \
	  else \
	    set -e; rm -rf $(JS_DIR); mkdir -p $(JS_DIR)/.tgz; \
	    for pkg in $(NPM_JS); do \
	      name=$${pkg%@*}; name=$${name##*/}; \
	      tgz=$$(cd $(JS_DIR)/.tgz && npm pack --silent $$pkg | tail -n 1); \
	      mkdir -p $(JS_DIR)/$$name && tar -xzf $(JS_DIR)/.tgz/$$tgz -C $(JS_DIR)/$$name --strip-components=1; \
	    done; \
	    rm -rf $(JS_DIR)/.tgz; \
	    sed -i '/@import url(https:\/\/fonts.googleapis.com/d' $(JS_DIR)/reveal.js/dist/theme/*.css; \
	    echo "$(NPM_JS)" > $(JS_DIR)/.installed; \
	    echo "JavaScript for offline slides unpacked in $(JS_DIR): $(NPM_JS)"; \
	  fi; fi

slides: setup js
	$(PY) -m d2l_extras.slides

# Browser tests (tests/test_browser.py) drive Debian's /usr/bin/chromium with Playwright for Python (the
# `test` extra). Never `playwright install`: it downloads a browser of its own.
browser: js
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium for the browser tests ..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "note: /usr/bin/chromium is missing and installing it needs root (apt-get install chromium):"; \
	  echo "      the browser tests will skip."; fi

clean:
	rm -rf $(VENV) $(addprefix $(VENV)-,$(PYTHONS)) slides build *.egg-info

# The container image (Dockerfile): scripts/image installs Docker and starts its daemon when needed (as root on
# Debian/Ubuntu), makes a Debian base with debootstrap where no image registry answers, and stops what it started.
# image-test: the image, `make test` inside it, then tests/test_image.py here (it serves the index, token and all).
# image-benchmark: the image built without the layer cache, timed (benchmarks/container_image.json), then with
# GPU=0 the peak memory of notebooks 01-04 and of the JupyterLab server inside it (benchmarks/container_memory.json).
image:
	GPU=$(GPU) scripts/image build

# Both need this machine's venv (tests/test_image.py, the benchmarks' records): its CPU build, whatever GPU the image has.
image-test:
	@$(MAKE) --no-print-directory setup GPU=0
	GPU=$(GPU) PYTHON_FOR_TESTS=$(PY) scripts/image test

image-benchmark:
	@$(MAKE) --no-print-directory setup GPU=0
	GPU=$(GPU) PYTHON_FOR_TESTS=$(PY) scripts/image benchmark

