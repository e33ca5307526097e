# The two commands of the README: `make lab` and `make test`. Everything else is what they stand on.
#   make setup   venv in .venv (Python 3.11), project installed with its pinned dependencies (GPU=1: CUDA build)
#   make data    find Fashion-MNIST offline, or install Debian's dataset-fashion-mnist when root
#   make lab     set up, then JupyterLab on 127.0.0.1 with token auth, opened on notebooks/00_index.ipynb
#   make test    set up, then the unit tests and `pytest --nbval notebooks/`

SHELL := /bin/bash
VENV  ?= .venv
PY    := $(VENV)/bin/python
PORT  ?= 8888
GPU   ?= 0
EXTRA := $(if $(filter 1,$(GPU)),gpu,cpu)
STAMP := $(VENV)/.installed-$(EXTRA)
# A hung kernel must not hang CI: every notebook run has an outer limit too.
NBVAL_TIMEOUT ?= 1800

PYTHON311 := $(shell for p in python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null \
	&& command -v $$p && break; done)

.PHONY: setup data lab test unit nbval clean help
help:
	@sed -n 's/^#   //p' Makefile

setup: $(STAMP)

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
	$(PY) -m pip install --quiet --upgrade "pip>=23.2"
	@# The CPU and GPU builds are two packages that both provide `mxnet`: remove the other one first.
	$(PY) -m pip uninstall --quiet --yes $(if $(filter gpu,$(EXTRA)),mxnet,mxnet-cu112) 2>/dev/null || true
	$(PY) -m pip install --quiet -c constraints.txt -e ".[$(EXTRA),test]"
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

lab: setup data
	$(VENV)/bin/jupyter lab notebooks/00_index.ipynb --ip=127.0.0.1 --port=$(PORT) \
	  $(if $(filter 0,$(shell id -u)),--allow-root,) $(LAB_ARGS)

unit: setup data
	$(PY) -m pytest tests/

nbval: setup data
	timeout $(NBVAL_TIMEOUT) $(PY) -m pytest --nbval notebooks/

test: unit nbval

clean:
	rm -rf $(VENV) slides build *.egg-info
