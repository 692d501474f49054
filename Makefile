# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU build of torch; an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[all,test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/hepbench demo --json demo-results.json

test: lint $(STAMP)
	$(BIN)/python -m pytest

# The repository root is the package `hepbench`: mypy sees it through a link named hepbench.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	mkdir -p build/mypy && ln -sfn ../.. build/mypy/hepbench
	MYPYPATH=build/mypy $(BIN)/mypy

clean:
	rm -rf $(VENV) build *.egg-info demo-results.json
