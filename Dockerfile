# Herald: one image for every process (web, worker, scheduler, migrate); the command picks one.
#
# Two stages: the first builds Herald's wheel from the source; the second installs the locked
# dependencies, then that wheel, and holds neither the source nor pip's build files. Each
# stage installs the dependencies before copying what changes more often, so a code change
# rebuilds only the last layers. Regenerate requirements.lock with `make lock`.

FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src

# Templates, migrations and the Alembic config are package data: they must be in place
# before the wheel is built, or the wheel ships without them.
COPY pyproject.toml README.md alembic.ini ./
COPY templates ./templates
COPY migrations ./migrations
COPY core ./core
COPY subscribers ./subscribers
COPY publisher ./publisher
COPY worker ./worker
COPY sandbox ./sandbox
RUN pip wheel --no-deps --wheel-dir /wheels .


FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/herald/bin:$PATH \
    HERALD_DATA_DIR=/app/var

# The time zones of local-hour sending and digests: zoneinfo reads the system's database.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system herald \
    && useradd --system --gid herald --home-dir /app --no-create-home --shell /usr/sbin/nologin herald

# Exactly the pinned versions, each checked against its hash (and pip refuses a dependency
# the lock does not pin): the same image on any day.
RUN python -m venv /opt/herald
COPY requirements.lock /tmp/requirements.lock
RUN pip install --require-hashes -r /tmp/requirements.lock \
    && rm /tmp/requirements.lock

# Herald itself, without resolving anything again.
COPY --from=build /wheels /tmp/wheels
RUN pip install --no-deps /tmp/wheels/*.whl \
    && rm -rf /tmp/wheels

# The data folder (the embedded database and broker, the outbox, uploaded imports) belongs
# to the service user; a named volume mounted on one of these folders starts with the
# folder's owner, so the containers can write to it.
WORKDIR /app
RUN mkdir -p /app/var/outbox /app/var/imports \
    && chown -R herald:herald /app/var

USER herald

EXPOSE 8000

# The web process answers /livez while it runs (a worker or scheduler container replaces
# this check with its own, see docker-compose.yml).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/livez', timeout=3)"]

CMD ["herald", "web", "--host", "0.0.0.0"]
