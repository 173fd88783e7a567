# syntax=docker/dockerfile:1
# One image for every role; the command picks it:
#   docker run IMAGE                          -> callpipe api      (HTTP on 8080, GET /health, the web console at /)
#   docker run IMAGE worker --stage fetch     -> one stage's queue consumer (poll|fetch|transcribe|analyze)
#   docker run IMAGE bootstrap                -> create queues/tables/buckets on an emulator
# Build: docker build -t callpipe:dev .   (for Fargate ARM64: docker buildx build --platform linux/arm64 ...)

# --- console: the web console's static build (index.html + content-hashed assets/), from the lockfile --------------
FROM node:20-slim AS console

ENV NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false \
    NPM_CONFIG_UPDATE_NOTIFIER=false

WORKDIR /console
COPY console/package.json console/package-lock.json ./
RUN npm ci
COPY console/ ./
RUN npm run build && test -f dist/index.html

# --- build: a wheel of the project, installed with its runtime dependencies into a self-contained venv -------------
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
# .dockerignore admits only pyproject.toml, README.md and the package folders.
COPY . .
RUN python -m pip wheel --no-deps --wheel-dir /wheels . \
    && python -m venv /opt/callpipe \
    && /opt/callpipe/bin/pip install /wheels/callpipe-*.whl \
    && /opt/callpipe/bin/pip uninstall --yes pip \
    && /opt/callpipe/bin/callpipe --help >/dev/null

# --- runtime: the venv only (no compiler, no pip cache, no sources, no dev extras), run as a non-root user -----------
FROM python:3.11-slim AS runtime

# MALLOC_*: large buffers (5 MiB upload parts) go back to the OS when freed and threads share two arenas; a worker
# also sets both at start (shared/memory.py), but from the environment they hold from the first allocation: a 2-hour
# recording's fetch + transcribe peaked at 125 MB this way against 141 MB with the in-process call alone.
ENV PATH=/opt/callpipe/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CALLPIPE_LOG_FORMAT=json \
    MALLOC_MMAP_THRESHOLD_=1048576 \
    MALLOC_ARENA_MAX=2 \
    CALLPIPE_API_CONSOLE_DIR=/opt/callpipe/console

RUN groupadd --system --gid 10001 callpipe \
    && useradd --system --uid 10001 --gid callpipe --no-create-home --home-dir /tmp --shell /usr/sbin/nologin callpipe

COPY --from=build /opt/callpipe /opt/callpipe
# The API serves these files at / (api/console.py); root owns them, the service user only reads them.
COPY --from=console /console/dist /opt/callpipe/console

USER 10001:10001
WORKDIR /tmp
EXPOSE 8080

# Only the API serves HTTP; for any other command (workers, bootstrap) the check reports healthy. ECS uses the task
# definition's own health check, so this matters for `docker run` and docker compose.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; argv = open('/proc/1/cmdline', 'rb').read().split(b'\\0'); sys.exit(0) if b'api' not in argv else urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4)"]

# Exec form: callpipe is PID 1 (or the child of an init such as ECS initProcessEnabled / docker --init) and receives
# SIGTERM itself, so a worker drains before the container stops.
STOPSIGNAL SIGTERM
ENTRYPOINT ["callpipe"]
CMD ["api"]
