# The two commands of the README: `make lab` and `make test`. Everything else is what they stand on.
#   make setup   venv in .venv (Python 3.11), project installed with its pinned dependencies (GPU=1: CUDA build)
#   make data    find Fashion-MNIST offline, or install Debian's dataset-fashion-mnist when root
#   make lab     set up, then JupyterLab on 127.0.0.1 with token auth, opened on notebooks/00_index.ipynb
#   make test    set up, then the unit tests and `pytest --nbval notebooks/`
#   make slides  static reveal.js decks in slides/ that work offline (JS from pinned npm packages in build/js)

SHELL := /bin/bash
VENV  ?= .venv
PY    := $(VENV)/bin/python
PORT  ?= 8888
GPU   ?= 0
EXTRA := $(if $(filter 1,$(GPU)),gpu,cpu)
STAMP := $(VENV)/.installed-$(EXTRA)
# A hung kernel must not hang CI: every notebook run has an outer limit too.
NBVAL_TIMEOUT ?= 1800
# MXNet 1.9 starts one OpenMP thread per two cores unless told (it assumes hyper-threading): on a 2-core
# laptop that halves the speed of every notebook and test. The tests use every core. `make lab` leaves the
# choice to the notebooks' check_environment() (d2l_extras.use_all_cores): every core, or a share of them
# when other MXNet processes are already computing. An OMP_NUM_THREADS you set wins in both.
unit nbval: export OMP_NUM_THREADS ?= $(shell nproc 2>/dev/null || echo 2)

PYTHON311 := $(shell for p in python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null \
	&& command -v $$p && break; done)

.PHONY: setup data lab test unit nbval clean help slides js browser
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

$(STAMP): pyproject.toml constraints.txt
	@if [ -z "$(PYTHON311)" ]; then \
	  echo "error: Python 3.11 not found (tried python3.11, python3)." >&2; \
	  echo "  MXNet 1.9.1 needs numpy < 1.24, and d2l 1.0.3 pins numpy 1.23.5, which has no wheels for 3.12+." >&2; \
	  echo "  Install it, e.g. 'apt-get install python3.11 python3.11-venv' or 'pyenv install 3.11'." >&2; \
	  exit 1; fi
	@test -x $(PY) || { echo "Creating $(VENV) with $(PYTHON311)"; $(PYTHON311) -m venv $(VENV) || { \
	  rm -rf $(VENV); \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "venv failed: installing Debian's python3.11-venv ..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.11-venv >/dev/null \
	    && $(PYTHON311) -m venv $(VENV); \
	  else echo "error: '$(PYTHON311) -m venv' failed; install python3.11-venv (Debian/Ubuntu)" >&2; exit 1; fi; }; }
	@echo "Installing the pinned packages into $(VENV) ($(EXTRA) build of MXNet) ..."
	@$(PY) -m pip install --quiet --upgrade "pip>=23.2"
	@# The CPU and GPU builds are two packages that both provide `mxnet`: remove the other one first.
	@$(PY) -m pip uninstall --quiet --yes $(if $(filter gpu,$(EXTRA)),mxnet,mxnet-cu112) 2>/dev/null || true
	@$(PY) -m pip install --quiet -c constraints.txt -e ".[$(EXTRA),test]"
	@rm -f $(VENV)/.installed-*
	@touch $@
	@echo "Set-up done: $(VENV) ($(EXTRA) build of MXNet)."

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
# trusted first (signed in Jupyter's database, as JupyterLab signs a notebook it saves): their saved sliders show
# as sliders, not as text, and the server does not warn "Notebook ... is not trusted".
LAB_ROOT ?= $(CURDIR)

lab: setup data
	@$(VENV)/bin/jupyter trust $(wildcard $(LAB_ROOT)/notebooks/*.ipynb $(LAB_ROOT)/notebooks/*/*.ipynb) >/dev/null
	@$(VENV)/bin/jupyter lab --ip=127.0.0.1 --port=$(PORT) --ServerApp.root_dir="$(LAB_ROOT)" \
	  --LabApp.default_url=$(LAB_URL) --ServerApp.log_level=WARN --LabApp.log_level=WARN \
	  $(if $(filter 0,$(shell id -u)),--allow-root,) $(LAB_ARGS)

unit: setup data browser
	$(PY) -m pytest tests/

nbval: setup data
	timeout $(NBVAL_TIMEOUT) $(PY) -m pytest --nbval notebooks/

test: unit nbval

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
	rm -rf $(VENV) slides build *.egg-info
