# Armswatch: the service (`armswatch run`) and the hits browser (`armswatch serve`) in one image.
# docker-compose.yml runs both, with Mailpit for digest email; see docs/operations.md.
# Versions are pinned (the base image here, Python packages in deploy/constraints.txt), so a
# rebuild gets what was tested; docs/operations.md says how to move them forward.

# -- stage 1: the wheel, built as tests/test_install.py builds it ---------------------------------
FROM python:3.11.11-slim-bookworm AS wheel

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY deploy/constraints.txt /tmp/constraints.txt
RUN pip install --constraint /tmp/constraints.txt setuptools
# config/ too: the package's defaults (monitor/settings/defaults) are links to its files, and the
# wheel gets their content.
COPY pyproject.toml README.md ./
COPY config config
COPY monitor monitor
COPY storage storage
COPY alerts alerts
RUN pip wheel --no-deps --no-build-isolation --wheel-dir /wheels .

# -- stage 2: the image, with the wheel installed and no sources --------------------------------
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY deploy/constraints.txt /tmp/constraints.txt
COPY --from=wheel /wheels /tmp/wheels
RUN pip install --constraint /tmp/constraints.txt /tmp/wheels/armswatch-*.whl \
    && rm -rf /tmp/wheels /tmp/constraints.txt

# A starter config from the package's defaults, so the image runs on its own;
# docker-compose.yml mounts the checkout's config/ folder over it.
RUN armswatch init /app/config

# The container is laid out like a checkout: /app/config and /app/data, with /app the working
# directory, so the config's relative paths (data/armswatch.db, the file channel's data/digests)
# land on the data volume, as `make run` puts them in the checkout's data/. An unprivileged user
# owns the volume, the only place it may write.
RUN useradd --system --uid 10001 --user-group --home-dir /app/data --no-create-home \
        --shell /usr/sbin/nologin armswatch \
    && mkdir -p /app/data \
    && chown armswatch:armswatch /app/data

ENV ARMSWATCH_CONFIG=/app/config \
    ARMSWATCH_DB=/app/data/armswatch.db

VOLUME /app/data
WORKDIR /app
USER armswatch

# `armswatch serve` (Datasette) listens here when the container runs it.
EXPOSE 8001

# Unhealthy when no feed has been polled successfully for three poll intervals. The first poll
# starts at once, but a slow network may need a few minutes: failures then do not count.
HEALTHCHECK --interval=1m --timeout=30s --start-period=5m --retries=3 \
    CMD ["armswatch", "status"]

CMD ["armswatch", "run"]
