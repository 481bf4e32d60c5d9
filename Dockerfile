# Herald: one image for every process (web, worker, scheduler, migrate); the command picks one.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system herald \
    && useradd --system --gid herald --home-dir /app --no-create-home --shell /usr/sbin/nologin herald

WORKDIR /app

# The package and its console script `herald`; templates and migrations are package data.
COPY pyproject.toml README.md ./
COPY core ./core
COPY subscribers ./subscribers
COPY publisher ./publisher
COPY worker ./worker
COPY sandbox ./sandbox
COPY templates ./templates
COPY migrations ./migrations
# The installed package is the only copy: `python -m` (uvicorn, celery) puts the working
# directory first on sys.path, and sources left here hide the package data from importlib.
RUN pip install . \
    && rm -rf build *.egg-info core subscribers publisher worker sandbox templates migrations

# The outbox and any embedded files live under var/, writable by the service user only.
RUN mkdir -p /app/var/outbox && chown -R herald:herald /app/var

USER herald

EXPOSE 8000

CMD ["herald", "web", "--host", "0.0.0.0"]
