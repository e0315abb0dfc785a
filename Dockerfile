# Relay: one image for both production processes, `relay api` (the default) and `relay worker`.
# Build: docker build -t relay .       Settings come from the environment at run time (docs/operations.md);
# nothing secret is baked into the image.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/relay
WORKDIR /src
COPY pyproject.toml requirements.lock worker.py ./
COPY app ./app
COPY workflows ./workflows
COPY activities ./activities
COPY relay_common ./relay_common
COPY scripts/openapi.py ./scripts/openapi.py
# The runtime dependencies only (no dev extra), pinned by the same lock file as `make dev` and CI.
RUN /opt/relay/bin/pip install -c requirements.lock .
# The API's OpenAPI document, from the app itself: the console's typed client is generated from it.
RUN /opt/relay/bin/python scripts/openapi.py /src/openapi.json
# Bytecode for everything installed: PYTHONDONTWRITEBYTECODE stops Python from writing it at run time,
# and Temporal's sandbox imports the workflow modules afresh for every run (docs/performance.md section 8).
RUN /opt/relay/bin/python -m compileall -q /opt/relay/lib

# The console (console/, SPEC §3.5): npm ci from the lockfile, then the typed client, tsc and vite.
FROM node:20-slim AS console
WORKDIR /src/console
COPY console/package.json console/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY console ./
COPY --from=build /src/openapi.json ./openapi.json
RUN npm run --silent build

FROM python:3.11-slim
ENV PATH=/opt/relay/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RELAY_LOG_FORMAT=json
RUN groupadd --system --gid 10001 relay \
 && useradd --system --uid 10001 --gid relay --home-dir /home/relay --create-home --shell /usr/sbin/nologin relay
COPY --from=build /opt/relay /opt/relay
# served by `relay api` at /console (app/routers/console.py finds it under the venv's prefix)
COPY --from=console /src/console/dist /opt/relay/console/dist
USER relay
WORKDIR /home/relay
EXPOSE 8000
# Liveness of the API process. The worker serves no HTTP: docker-compose.yml disables this check for it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["relay", "api", "--host", "0.0.0.0", "--port", "8000"]
