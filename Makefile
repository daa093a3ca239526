# The commands a new user runs. Everything happens in .venv; nothing is installed globally.
PYTHON ?= python3
VENV ?= .venv
LS_VENV ?= .venv-labelstudio
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
PYTEST_ARGS ?=

.PHONY: demo test all compile bench bench-models labelstudio lint install install-dev clean

## demo: create .venv, build a demo call warehouse, sample calls on the local runner, print the result
demo: $(VENV)/.installed
	$(BIN)/skit-pipelines demo

## test: create .venv with the dev and ml extras and run the whole suite (what CI runs)
test: $(VENV)/.installed-dev $(LS_VENV)/bin/label-studio
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## all: compile every pipeline to build/<pipeline>.yaml
all: compile
compile: $(VENV)/.installed
	$(BIN)/skit-pipelines compile --out-dir build

## bench: benchmarks, printed as ratios against baselines measured in the same run
bench: $(VENV)/.installed-dev $(LS_VENV)/bin/label-studio
	$(BIN)/python -m bench

## bench-models: BANKING77 intent model benchmark on the CPU (~15 min; not part of CI)
bench-models: $(VENV)/.installed-dev
	$(BIN)/python -m bench.models

## labelstudio: start a local Label Studio (own venv, ~1 GB) and print its URL and token
labelstudio: $(VENV)/.installed $(LS_VENV)/bin/label-studio
	scripts/labelstudio.sh

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check skit_pipelines tests bench

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -e '.[dev,ml]'
	touch $@ $(VENV)/.installed

# Label Studio is a tool we talk to over HTTP, not a dependency: it lives in its own virtualenv.
$(LS_VENV)/bin/label-studio:
	$(PYTHON) -m venv $(LS_VENV)
	$(LS_VENV)/bin/python -m pip --disable-pip-version-check -q install label-studio

clean:
	rm -rf build .skit .pytest_cache
