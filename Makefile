# Developer entry points; `make run` and `make test` work from a fresh clone (see the contract).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Touched after a successful install: reruns skip pip until pyproject.toml changes.
STAMP := $(VENV)/.installed

.PHONY: install chromium run lint test compose-test migrate clean bench-history bench-ingest bench-training bench-queue bench-datasets bench-sweeps bench-export bench-predict

install: $(STAMP)

# torch==2.15.0 comes from PyPI as the CUDA build (about 5 GB): the first install takes a minute or two.
# The OpenAPI client generator a test runs is pinned here, not in pyproject: it declares typer<0.28 for its own command
# line, which the project's typer==0.29.2 cannot meet in one resolution; its other needs are dev dependencies, and it
# generates fine beside the newer typer.
OPENAPI_GENERATOR := openapi-python-client==0.29.1
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -e '.[worker,local,dev]'
	$(BIN)/python -m pip install --no-deps $(OPENAPI_GENERATOR)
	touch $@

# PORT (environment or `make run PORT=9000`) moves the API off 8000.
run: install
	$(BIN)/gradyard up $(if $(PORT),--port $(PORT))

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The browser tests drive Debian's chromium through Playwright (no browser download); CI runs as root on Debian.
chromium:
	test -x /usr/bin/chromium || (apt-get update -q && apt-get install -y -q chromium)

# Two pytest runs side by side: the tests that run the service as processes (chaos, e2e, the CLI) spend most of their
# time waiting on those processes, and the in-process rest fills the other core (16.7 min instead of 25.8 on 2 cores).
# The process group's output follows the other's; either failing fails the target.
PROCESS_TESTS := tests/chaos tests/e2e tests/cli
test: lint chromium
	@mkdir -p test-artifacts
	$(BIN)/pytest -p no:cacheprovider $(PROCESS_TESTS) > test-artifacts/pytest-processes.log 2>&1 & processes=$$!; \
	$(BIN)/pytest $(addprefix --ignore=,$(PROCESS_TESTS)); in_process=$$?; \
	wait $$processes; as_processes=$$?; \
	echo "== $(PROCESS_TESTS), run beside the tests above:"; cat test-artifacts/pytest-processes.log; \
	exit $$(( in_process || as_processes ))

# Builds the images and proves `docker compose up` on this machine: needs root (it installs Debian's docker.io,
# docker-compose and debootstrap when missing and runs its own dockerd) and about 15 GB of disk while it runs.
# Needs no .venv: the checks use the standard library only. See deploy/compose-test/run.sh.
compose-test:
	bash deploy/compose-test/run.sh

# Benchmarks on the real stack (a private Redis, SQLite, the API and a worker, all stopped at the end); tables on
# stdout, numbers in test-artifacts/bench/. ARGS passes options (`make bench-training ARGS=--profile`).
bench-training: install
	$(BIN)/python -m benchmarks.bench_training $(ARGS)

bench-queue: install
	$(BIN)/python -m benchmarks.bench_queue $(ARGS)

bench-datasets: install
	$(BIN)/python -m benchmarks.bench_datasets $(ARGS)

bench-sweeps: install
	$(BIN)/python -m benchmarks.bench_sweeps $(ARGS)

bench-export: install
	$(BIN)/python -m benchmarks.bench_export $(ARGS)

bench-predict: install
	$(BIN)/python -m benchmarks.bench_predict $(ARGS)

migrate: install
	$(BIN)/gradyard migrate

# Benchmarks against the real service, beside MLflow's tracking server. MLflow lives in its own virtualenv, never in
# the project's dependencies: 3.17.2 is the newest that installs (3.18.0's mlflow-skinny is not on PyPI).
# `make bench-history ARGS='--sizes 1e4,1e5'` for a quick run; the default is the full set.
MLFLOW_VERSION := 3.17.2
MLFLOW_VENV := .venv-mlflow
MLFLOW_STAMP := $(MLFLOW_VENV)/.installed-$(MLFLOW_VERSION)

$(MLFLOW_STAMP):
	test -x $(MLFLOW_VENV)/bin/python || $(PYTHON) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/python -m pip install mlflow==$(MLFLOW_VERSION)
	touch $@

bench-history: install $(MLFLOW_STAMP)
	$(BIN)/python -m benchmarks.bench_history $(ARGS)

bench-ingest: install $(MLFLOW_STAMP)
	$(BIN)/python -m benchmarks.bench_ingest $(ARGS)

clean:
	rm -rf var
