# Armswatch: the service (`armswatch run`) and the hits browser (`armswatch serve`) in one image.
# docker-compose.yml runs both, with Mailpit for digest email; see docs/operations.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Install the project as a package (not editable), then drop the sources: the console script
# `armswatch` and its packages live in site-packages.
COPY pyproject.toml README.md /src/
COPY monitor /src/monitor
COPY storage /src/storage
COPY alerts /src/alerts
RUN pip install /src && rm -rf /src

# The shipped settings and watch list; docker-compose.yml mounts its own armswatch.toml over
# the first and the checkout's watchlist.toml over the second.
COPY config /app/config

# An unprivileged user owns the data volume. Relative paths in the config (such as a file
# channel's "data/digests") resolve under /data, the only place it may write.
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin armswatch \
    && mkdir -p /data \
    && chown armswatch:armswatch /data

ENV ARMSWATCH_CONFIG=/app/config \
    ARMSWATCH_DB=/data/armswatch.db

VOLUME /data
WORKDIR /data
USER armswatch

# `armswatch serve` (Datasette) listens here when the container runs it.
EXPOSE 8001

# Unhealthy when no feed has been polled successfully for three poll intervals. The first poll
# starts at once, but a slow network may need a few minutes: failures then do not count.
HEALTHCHECK --interval=1m --timeout=30s --start-period=5m --retries=3 \
    CMD ["armswatch", "status"]

CMD ["armswatch", "run"]
