# StreamHouse agent image.
#
#   docker build -t streamhouse .
#   docker run -p 9092:9092 -p 8080:8080 -v streamhouse-data:/data streamhouse
#
# With no flags the agent runs the embedded default: SQLite catalogue, object
# store and WAL all under /data (a volume). Point it at PostgreSQL and S3 with
# --catalogue / --objects (see docs/CONFIGURATION.md and docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . /app

# Editable install: the code runs from /app, next to migrations/ (the catalogue
# SQL, read at start by coordinator/sql.py). A regular `pip install .` works as
# well: the wheel carries migrations/ as coordinator/migrations/. The bytecode
# is compiled here because /app is not writable by the runtime user.
RUN pip install -e . \
    && python -m compileall -q /app/streamhouse /app/protocol /app/storage /app/coordinator \
    && test -n "$(ls /app/migrations/*.sql)"

RUN groupadd --system --gid 10001 streamhouse \
    && useradd --system --uid 10001 --gid streamhouse --home-dir /data --no-create-home streamhouse \
    && mkdir -p /data \
    && chown streamhouse:streamhouse /data

USER streamhouse
VOLUME /data

# 9092 Kafka protocol, 8080 HTTP (/health, /ready, /metrics), 8081 schema registry.
EXPOSE 9092 8080 8081

HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4)"]

ENTRYPOINT ["streamhouse"]
CMD ["serve", "--data-dir", "/data"]
