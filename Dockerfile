# ipdesk — production image: slim, non-root, fonts for Korean and Kazakh, migrates then runs.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 ipdesk

WORKDIR /app
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY pyproject.toml README.md alembic.ini babel.cfg ./
COPY bot ./bot
COPY handlers ./handlers
COPY db ./db
COPY sandbox ./sandbox
COPY locales ./locales
RUN python -m babel.messages.frontend -q compile -d locales -D messages \
    && chown -R ipdesk:ipdesk /app

USER ipdesk
ENV LOCALES_DIR=/app/locales PYTHONPATH=/app
CMD ["sh", "-c", "python -m bot migrate && exec python -m bot run"]
