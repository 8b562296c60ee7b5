# syntax=docker/dockerfile:1
# The Alpha Panda image: `app` runs the CLI (compose.yaml's role services), `tests` adds the
# dev extras, redis-server and the test tree for compose.yaml's `tests` service.
# Nothing secret is copied in: configuration comes from the environment at run time
# (compose.yaml interpolates .env, which .dockerignore keeps out of the build context).

FROM python:3.11.10-slim-bookworm AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app
WORKDIR /app
# the sources, named one by one: never the whole context (a stray var/ or .env stays out)
COPY pyproject.toml README.md strategies.yaml ./
COPY schemas ./schemas
COPY supervisors ./supervisors
COPY actors ./actors
COPY bridge ./bridge
COPY web ./web
COPY ops ./ops

FROM base AS app
RUN pip install . \
    && mkdir -p /app/var /app/nats-auth \
    && chown app:app /app/var /app/nats-auth
# /app/var: the data directory; /app/nats-auth: where compose's bus-auth writes the NATS
# authorization block (a named volume takes this ownership on first mount)
ENV ALPHA_PANDA_DATA_DIR=/app/var
USER app
EXPOSE 8000 9464
ENTRYPOINT ["alpha-panda"]
CMD ["up"]

FROM base AS tests
RUN apt-get update \
    && apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/*
RUN pip install -e '.[dev]'
COPY tests ./tests
RUN mkdir -p /app/var && chown -R app:app /app
ENV ALPHA_PANDA_DATA_DIR=/app/var
USER app
ENTRYPOINT ["python", "-m", "pytest"]
CMD ["-q", "-p", "no:cacheprovider", "tests/e2e"]
