# rnnlab: two commands do everything.
#   make lab    set up (first time) and open the course in JupyterLab
#   make test   set up with test extras and run the whole test suite
# and more:
#   make explorer     the vanishing-gradient explorer as a standalone web app (Voila)
#   make instructor   JupyterLab with nbgrader's instructor tools (formgrader, create assignment)
#   make hub          the course on JupyterHub for a class on this machine (as root; README: Running the course on JupyterHub)
#   make install      set up only, without starting anything
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
# nbgrader creates gradebooks by running `alembic`, so the environment's bin/ goes first on PATH.
export PATH := $(BIN):$(PATH)
# The learner's workspace: make lab copies the release (course/) here and never overwrites their changes.
WORK ?= work
LAB_ARGS ?=
# The learner's JupyterLab: nbgrader's instructor tools and the news pop-up switched off (jupyter-config/README.md).
LEARNER_CONFIG := $(abspath jupyter-config/learner)$(if $(JUPYTER_CONFIG_PATH),:$(JUPYTER_CONFIG_PATH))
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)
# The tests run on two workers where there are two cores or more (pytest-xdist, a sandbox uid range per worker; a test
# file stays on one worker, the longest files first, in the order tests/conftest.py gives, hence
# --no-loadscope-reorder); TEST_WORKERS=1 runs them in one process, TEST_WORKERS=N on N workers.
TEST_WORKERS ?= $(shell [ "$$(nproc 2>/dev/null || echo 1)" -ge 2 ] && echo 2 || echo 1)
PYTEST_ARGS ?= $(if $(filter-out 0 1,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)
VOILA_IP ?= localhost
VOILA_PORT ?= 8866
VOILA_ARGS ?=
HUB_PORT ?= 8000
HUB_ARGS ?=

.PHONY: lab instructor install test release explorer hub clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

lab: $(VENV)/.installed
	$(BIN)/python -m rnnlab.workspace --release course --work $(WORK)
	JUPYTER_CONFIG_PATH=$(LEARNER_CONFIG) $(BIN)/jupyter lab --ServerApp.root_dir=$(WORK) $(ALLOW_ROOT) $(LAB_ARGS)

# nbgrader's formgrader reads autograder/nbgrader_config.py from the folder the server starts in.
instructor: $(VENV)/.installed
	cd autograder && $(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR) $(ALLOW_ROOT) $(LAB_ARGS)

# Open the address it prints (http://localhost:8866 by default); VOILA_IP=0.0.0.0 serves other machines too.
explorer: $(VENV)/.installed
	$(BIN)/voila apps/explorer.ipynb --no-browser --Voila.ip=$(VOILA_IP) --port=$(VOILA_PORT) $(VOILA_ARGS)

# Open http://localhost:8000 (HUB_PORT) and log in; learners and password: RNNLAB_HUB_* in hub/jupyterhub_config.py.
hub: $(VENV)/.installed
	exec $(BIN)/jupyterhub -f hub/jupyterhub_config.py --port=$(HUB_PORT) $(HUB_ARGS)

# scripts/system-deps installs Chromium, bubblewrap, PostgreSQL and configurable-http-proxy as root (or names what is missing and stops;
# RNNLAB_ALLOW_SKIPS=1 skips the tests that need them instead).
test: $(VENV)/.installed-test
	bash scripts/system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Regenerate course/ from solutions/ (run after every change to a source notebook).
release: $(VENV)/.installed
	$(BIN)/python -m autograder.release

clean:
	rm -rf $(VENV) *.egg-info autograder/submitted autograder/staged autograder/autograded autograder/feedback autograder/gradebook.db tests/output
