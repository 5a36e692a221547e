# The two commands of the quick start, plus a few for developers.
# Everything runs inside .venv, which the first target that needs it creates.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench lint docs quality clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The project with every optional extra (cli, plot, sklearn, scipy, io).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "installing glassnet and every extra into $(VENV) (pip; a few minutes the first time)"
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all]"
	touch $@

# The same, plus the test tools.
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	@echo "installing glassnet, every extra and the test tools into $(VENV) (pip; a few minutes the first time)"
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

# The compiled path's kernels are compiled once, ahead, into numba's on-disk cache
# (instant once they are there); the command says how long it expects, and then how long
# it took.
WARM := $(BIN)/python -m glassnet.fast --warm

demo: $(VENV)/.installed
	$(WARM)
	$(BIN)/glassnet demo all

# The report tests open the HTML report in headless Chromium: Debian's chromium, installed
# here, once, and said so (apt-get needs root; CI runs as root). Skipped when it is there.
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	@echo "installing Debian's chromium for the report tests (apt-get, once)"
	@if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
		echo "cannot: apt-get as root is needed; the report's browser tests will be skipped"; \
	else \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 || \
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; } \
		|| echo "apt-get could not install chromium; the report's browser tests will be skipped"; \
	fi

# The kernels first, so that no test process compiles them; then one process per core,
# each test file in one of them (its module fixtures start once), and one BLAS thread
# per process: more threads than cores make small matrix products wait on each other,
# and no test measures speed.
test: $(VENV)/.installed-dev | $(CHROMIUM)
	$(WARM)
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
		$(BIN)/python -m pytest -q -n auto --dist loadfile

# The documentation site, into site/: MkDocs with --strict (any warning fails the build:
# a broken link or anchor, a cross-reference or docstring mkdocstrings cannot read, an
# asset from the internet), the tutorials executed as it builds. Nothing is fetched.
$(VENV)/.installed-docs: pyproject.toml | $(BIN)/python
	@echo "installing glassnet and the documentation tools into $(VENV) (pip)"
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $@

docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# mypy reads its settings from pyproject.toml ([tool.mypy]: the files and the checks).
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

# Speed against hand-written NumPy, scikit-learn and PyTorch, at 1 and 2 BLAS threads,
# cold start and NumPy calls per step (see benchmarks/README.md): the tables of
# docs/performance.md and docs/sklearn.md.
# PyTorch is installed only when its CPU wheel lies on this machine (PIP_FIND_LINKS),
# never downloaded (PyPI's build is several GB); without it, its rows are skipped.
bench: $(VENV)/.installed
	$(WARM)
	@if $(BIN)/python -m pip download --quiet --no-index --no-deps "torch==2.13.0" \
		-d $(VENV)/wheels >/dev/null 2>&1; then \
		$(BIN)/python -m pip install --quiet "torch==2.13.0"; \
	else echo "no local PyTorch 2.13.0 wheel: its rows will be skipped"; fi
	$(BIN)/python benchmarks/run.py --threads 1,2
	$(BIN)/python benchmarks/optimizer.py --threads 1,2
	$(BIN)/python benchmarks/sweep.py --threads 1,2
	$(BIN)/python benchmarks/lbfgs.py --threads 1,2
	$(BIN)/python benchmarks/cold_start.py
	$(BIN)/python benchmarks/calls.py
	$(BIN)/python benchmarks/recipe.py
	$(BIN)/python benchmarks/sklearn_compare.py

# The quality of the default recipe against scikit-learn's MLP, HistGradientBoosting and
# RealMLP-TD, on public datasets, several seeds each (docs/quality.md). RealMLP-TD needs
# pytabkit and PyTorch: installed only when PyTorch's CPU wheel lies on this machine, as
# for make bench; without them its column is skipped. It takes hours: RealMLP-TD's fits.
quality: $(VENV)/.installed
	@echo "installing the benchmark's datasets (statsmodels, vega_datasets, palmerpenguins)"
	$(BIN)/python -m pip install --quiet -e ".[quality]"
	@if $(BIN)/python -m pip download --quiet --no-index --no-deps "torch==2.13.0" \
		-d $(VENV)/wheels >/dev/null 2>&1; then \
		$(BIN)/python -m pip install --quiet "torch==2.13.0" pytabkit; \
	else echo "no local PyTorch 2.13.0 wheel: RealMLP-TD will be skipped"; fi
	$(BIN)/python benchmarks/quality.py --json quality.json --reuse quality.json

clean:
	rm -rf $(VENV) build dist site src/*.egg-info .pytest_cache .ruff_cache .mypy_cache .hypothesis
