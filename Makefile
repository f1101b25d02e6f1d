# rnnlab: two commands do everything.
#   make lab    set up (first time) and open the course in JupyterLab
#   make test   set up with test extras and run the whole test suite
# and one more:
#   make explorer   the vanishing-gradient explorer as a standalone web app (Voila)
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
# nbgrader creates gradebooks by running `alembic`, so the environment's bin/ goes first on PATH.
export PATH := $(BIN):$(PATH)
LAB_ROOT ?= course
LAB_ARGS ?=
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)
PYTEST_ARGS ?=
VOILA_IP ?= localhost
VOILA_PORT ?= 8866
VOILA_ARGS ?=

.PHONY: lab test release explorer clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

lab: $(VENV)/.installed
	$(BIN)/jupyter lab --ServerApp.root_dir=$(LAB_ROOT) $(ALLOW_ROOT) $(LAB_ARGS)

# Open the address it prints (http://localhost:8866 by default); VOILA_IP=0.0.0.0 serves other machines too.
explorer: $(VENV)/.installed
	$(BIN)/voila apps/explorer.ipynb --no-browser --Voila.ip=$(VOILA_IP) --port=$(VOILA_PORT) $(VOILA_ARGS)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Regenerate course/ from solutions/ (run after every change to a source notebook).
release: $(VENV)/.installed
	$(BIN)/python -m autograder.release

clean:
	rm -rf $(VENV) *.egg-info autograder/submitted autograder/staged autograder/autograded autograder/feedback autograder/gradebook.db tests/output
