# The production image: web (gunicorn + whitenoise), Celery worker and django-q2 cluster
# all run from it with different commands (docker-compose.yml).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml requirements.lock ./
COPY bureau ./bureau
COPY appointments ./appointments
COPY walkins ./walkins
COPY priority ./priority
RUN pip install --no-cache-dir -c requirements.lock -e .
COPY manage.py gunicorn.conf.py ./
COPY templates ./templates
COPY static ./static
RUN BUREAU_ENV=production SECRET_KEY=build-only-collectstatic-never-serves-a-request-0123456789 DEBUG=0 \
    python manage.py collectstatic --no-input \
    && useradd --system --home /app bureau \
    && install -d -o bureau -m 700 /var/lib/bureau/evidence
USER bureau
EXPOSE 8000
CMD ["gunicorn", "bureau.wsgi:application", "--config", "gunicorn.conf.py", "--bind", "0.0.0.0:8000"]
