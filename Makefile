# The commands a new user runs. Everything happens in .venv; nothing is installed globally.
PYTHON ?= python3
VENV ?= .venv
LS_VENV ?= .venv-labelstudio
DVC_VENV ?= .venv-dvc
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
PYTEST_ARGS ?=

SKIT_HOME ?= .skit

.PHONY: demo test all compile image bench bench-models labelstudio lint install install-dev clean clean-state

## demo: create .venv, build a demo call warehouse, sample calls on the local runner, print the result
demo: $(VENV)/.installed
	$(BIN)/skit-pipelines demo

## test: create .venv (dev+ml extras) and the Label Studio and DVC tool venvs, check layering, run all (CI)
test: $(VENV)/.installed-dev $(LS_VENV)/bin/label-studio $(DVC_VENV)/bin/dvc
	$(BIN)/lint-imports
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## all: compile every pipeline to build/<pipeline>.yaml
all: compile
compile: $(VENV)/.installed
	$(BIN)/skit-pipelines compile --out-dir build

## image: build the step image (SKIT_IMAGE): make image IMAGE=registry.example.com/<team>/skit-pipelines:<version>
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n 1)
IMAGE ?= skit-pipelines:$(VERSION)
DOCKER ?= docker
image:
	@if ! command -v $(DOCKER) >/dev/null 2>&1 || ! $(DOCKER) info >/dev/null 2>&1; then \
		echo "make image: skipped: no Docker daemon here ($(DOCKER) info failed)."; \
		echo "Build on a machine with Docker: $(DOCKER) build -t $(IMAGE) ."; \
	else \
		$(DOCKER) build -t $(IMAGE) . && echo "built $(IMAGE); push it and set SKIT_IMAGE=$(IMAGE)"; \
	fi

## bench: benchmarks, printed as ratios against baselines measured in the same run
bench: $(VENV)/.installed-dev $(LS_VENV)/bin/label-studio $(DVC_VENV)/bin/dvc
	$(BIN)/python -m bench

## bench-models: BANKING77 intent model benchmark on the CPU, then 10 intents held out as out of scope (~30 min; not part of CI)
bench-models: $(VENV)/.installed-dev
	$(BIN)/python -m bench.models
	$(BIN)/python -m bench.models --oos-intents 10

## labelstudio: start a local Label Studio (own venv, ~1 GB) and print its URL and token
labelstudio: $(VENV)/.installed $(LS_VENV)/bin/label-studio
	scripts/labelstudio.sh

## lint: ruff, and the layering contracts of pyproject.toml ([tool.importlinter]; docs/architecture.md)
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check skit_pipelines tests bench
	$(BIN)/lint-imports

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -e '.[dev,ml,compliance]'
	touch $@ $(VENV)/.installed

# Label Studio is a tool we talk to over HTTP, not a dependency: it lives in its own virtualenv.
$(LS_VENV)/bin/label-studio:
	$(PYTHON) -m venv $(LS_VENV)
	$(LS_VENV)/bin/python -m pip --disable-pip-version-check -q install label-studio

# DVC (SLU project repos) is a CLI we run, in its own virtualenv: its S3 plugin (aiobotocore) pins botocore
# versions that lag the boto3 in .venv, so the two cannot share one environment.
$(DVC_VENV)/bin/dvc:
	$(PYTHON) -m venv $(DVC_VENV)
	$(DVC_VENV)/bin/python -m pip --disable-pip-version-check -q install 'dvc[s3]>=3.50,<4'

## clean: remove build outputs and caches; never $(SKIT_HOME) (annotations, databases, run history live there)
clean:
	rm -rf build .pytest_cache .ruff_cache .import_linter_cache .hypothesis *.egg-info
	find . \( -path ./.git -o -path ./$(VENV) -o -path ./$(LS_VENV) -o -path ./$(DVC_VENV) \
		-o -path ./$(SKIT_HOME) \) -prune \
		-o -type d -name __pycache__ -prune -exec rm -rf {} +

## clean-state: list what $(SKIT_HOME) holds; delete it only with `make clean-state CONFIRM=yes`
clean-state:
	@if [ ! -e "$(SKIT_HOME)" ]; then echo "$(SKIT_HOME) does not exist: nothing to delete"; exit 0; fi; \
	echo "$(SKIT_HOME) holds local state that no build can bring back: Label Studio data and annotations"; \
	echo "(labelstudio/), the demo warehouse, metrics and run records (*.db), artifacts/ and runs/:"; \
	du -sh "$(SKIT_HOME)"/* "$(SKIT_HOME)"/.[!.]* 2>/dev/null; \
	if [ "$(CONFIRM)" != "yes" ]; then \
		echo "nothing deleted; to delete all of $(SKIT_HOME): make clean-state CONFIRM=yes"; exit 1; fi; \
	rm -rf "$(SKIT_HOME)" && echo "deleted $(SKIT_HOME)"
