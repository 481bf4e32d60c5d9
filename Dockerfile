# Herald: one image for every process (web, worker, scheduler, migrate); the command picks one.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system herald \
    && useradd --system --gid herald --home-dir /app --no-create-home --shell /usr/sbin/nologin herald

WORKDIR /app

# The package and its console script `herald`.
COPY pyproject.toml README.md ./
COPY core ./core
COPY subscribers ./subscribers
COPY publisher ./publisher
COPY worker ./worker
RUN pip install . \
    && rm -rf build *.egg-info

# Read from the working directory at run time.
COPY templates ./templates
COPY migrations ./migrations
COPY alembic.ini ./

# The outbox and any embedded files live under var/, writable by the service user only.
RUN mkdir -p /app/var/outbox && chown -R herald:herald /app/var

USER herald

EXPOSE 8000

CMD ["herald", "web", "--host", "0.0.0.0"]
