# gradyard images. Three targets from one file:
#   docker build --target api    -t gradyard-api .     # FastAPI service and `gradyard migrate`; no torch
#   docker build --target worker -t gradyard-worker .  # Celery worker with torch (CUDA build from PyPI)
#   docker build --target flower -t gradyard-flower .  # Celery's monitor (the api image plus Flower)
# docker-compose.yml builds all three. Plain `docker build .` builds the last stage, the worker.
#
# Only RUN/COPY/ENV features that the classic builder understands are used (no heredocs, no cache mounts), so
# docker-compose 1.29's builder and BuildKit give the same image. `api` and `flower` come before `worker` on purpose:
# the classic builder builds every stage before the target, so this order keeps torch out of their builds.

ARG BASE_IMAGE=python:3.11-slim-bookworm

# --- base: user, writable data directories, the dependency lists ---------------------------------------------------
FROM ${BASE_IMAGE} AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GRADYARD_DATA_DIR=/var/lib/gradyard/data \
    GRADYARD_ARTIFACT_DIR=/var/lib/gradyard/artifacts \
    GRADYARD_WORKER_STATE_DIR=/var/lib/gradyard/worker

# The data directories must exist in the image, owned by gradyard: a named volume mounted there copies this ownership
# on first use, whereas a path missing from the image is created root-owned and the non-root worker could not write.
# A real home, because libraries (torch, matplotlib, pip) write caches under $HOME.
RUN groupadd --gid 10001 gradyard \
 && useradd --uid 10001 --gid gradyard --create-home --home-dir /home/gradyard \
        --shell /usr/sbin/nologin gradyard \
 && mkdir -p /var/lib/gradyard/data /var/lib/gradyard/artifacts /var/lib/gradyard/worker \
 && chown -R gradyard:gradyard /var/lib/gradyard

WORKDIR /app

# The dependency lists come from pyproject.toml alone, so the heavy install layers below are rebuilt only when
# pyproject.toml changes, not on every source edit. (Installing "." needs the packages present, hence two steps.)
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
extra = p['optional-dependencies']; api = p['dependencies']; \
open('/tmp/requirements-api.txt', 'w').write('\n'.join(api) + '\n'); \
open('/tmp/requirements-worker.txt', 'w').write('\n'.join(api + extra['worker']) + '\n'); \
open('/tmp/requirements-monitor.txt', 'w').write('\n'.join(extra['monitor']) + '\n')"

# --- api: FastAPI service, also runs the migrations -----------------------------------------------------------------
FROM base AS api

RUN pip install --no-cache-dir -r /tmp/requirements-api.txt

COPY alembic.ini ./
COPY alembic/ ./alembic/
COPY core/ ./core/
COPY service/ ./service/
COPY worker/ ./worker/
COPY cli/ ./cli/
COPY client/ ./client/
# Editable (-e), so the code runs from /app: core/migrate.py finds alembic.ini beside the packages (../alembic.ini
# from core/), which a regular install into site-packages would leave behind. The editable finder maps only the four
# packages, so /app/alembic never shadows the alembic library. Without --no-deps: every pin is already satisfied, so
# this adds only gradyard itself, but a dependency the list above missed is still installed rather than failing at
# run time.
RUN pip install --no-cache-dir -e .

USER gradyard
EXPOSE 8000
# The host is left to the deployment (compose sets GRADYARD_HOST=0.0.0.0); the check assumes the API answers on
# loopback, true for 0.0.0.0 and 127.0.0.1. urlopen raises on a non-2xx answer, so the exit code is the verdict.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${GRADYARD_PORT:-8000}/healthz', timeout=4)"
CMD ["gradyard", "api"]

# --- flower: Celery's own monitor, for `docker compose --profile monitor` ------------------------------------------
FROM api AS flower

USER root
RUN pip install --no-cache-dir -r /tmp/requirements-monitor.txt
USER gradyard
EXPOSE 5555
# Flower takes its options from FLOWER_* variables and the broker from CELERY_BROKER_URL. It refuses to start
# without FLOWER_BASIC_AUTH (user:password): its pages list every job's arguments and can revoke tasks.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${FLOWER_PORT:-5555}/healthcheck', timeout=4)"
CMD ["sh", "-c", "test -n \"$FLOWER_BASIC_AUTH\" || { echo 'flower: set FLOWER_BASIC_AUTH=user:password' >&2; exit 1; }; exec celery flower"]

# --- worker: Celery worker with the training engine -----------------------------------------------------------------
FROM base AS worker

# Empty by default: torch comes from PyPI, whose Linux wheel is the CUDA build. Setting it to PyTorch's CPU wheel
# index (docker-compose.cpu.yml does) adds that index, whose "+cpu" builds win over PyPI's for the same pinned
# version; if the index lacks that version, pip falls back to PyPI's build.
ARG TORCH_INDEX_URL=

# With the NVIDIA container toolkit, "compute" mounts libcuda; without this variable only "utility" (nvidia-smi) is
# mounted, and torch would see no GPU. NVIDIA_VISIBLE_DEVICES is left unset: compose's device request sets it.
ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility

RUN pip install --no-cache-dir ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"} \
        -r /tmp/requirements-worker.txt

COPY alembic.ini ./
COPY alembic/ ./alembic/
COPY core/ ./core/
COPY service/ ./service/
COPY worker/ ./worker/
COPY cli/ ./cli/
COPY client/ ./client/
# Editable for the same reason as in `api`.
RUN pip install --no-cache-dir ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"} -e '.[worker]'

USER gradyard
CMD ["gradyard", "worker"]
