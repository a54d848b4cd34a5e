# One image for web, worker and beat.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=setset.settings.production
WORKDIR /app
# pg_dump and pg_restore for `manage.py dataset_export` and `dataset_restore` (PostgreSQL 15).
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY setset setset
COPY strategy strategy
COPY kpis kpis
COPY reporting reporting
RUN pip install --no-cache-dir .
COPY . .
RUN DJANGO_SECRET_KEY=collectstatic-only DJANGO_ALLOWED_HOSTS=localhost \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 CELERY_BROKER_URL=memory:// \
    python manage.py collectstatic --noinput
RUN useradd --create-home --uid 10001 setset && mkdir -p /app/var/media && chown -R setset /app/var
USER setset
EXPOSE 8000
CMD ["gunicorn", "setset.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
