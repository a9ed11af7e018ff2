# ipdesk — production image: multi-stage, slim, non-root, fonts for Korean and Kazakh,
# a health check on HEALTH_PORT. Every replica migrates (under an advisory lock), then runs.

# -- build: the locked runtime dependencies in a virtualenv, the catalogues compiled ----------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
COPY requirements.lock pyproject.toml README.md ./
# The project's runtime dependencies at their locked versions (no test tools), then the
# project itself is removed again: the code runs from /app.
RUN mkdir bot handlers db sandbox \
    && pip install --constraint requirements.lock . \
    && pip uninstall --yes ipdesk \
    && rm -rf bot handlers db sandbox build *.egg-info
COPY alembic.ini babel.cfg ./
COPY bot ./bot
COPY handlers ./handlers
COPY db ./db
COPY sandbox ./sandbox
COPY locales ./locales
RUN python -m babel.messages.frontend -q compile -d locales -D messages \
    && python -m compileall -q bot handlers db

# -- runtime -----------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    LOCALES_DIR=/app/locales \
    MODE=webhook \
    WEBHOOK_PORT=8081 \
    HEALTH_PORT=8082
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 ipdesk
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=ipdesk:ipdesk /app /app
WORKDIR /app
USER ipdesk
EXPOSE 8081 8082
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['HEALTH_PORT'], timeout=2)"]
STOPSIGNAL SIGTERM
CMD ["sh", "-c", "python -m bot migrate && exec python -m bot run"]
