# PayGov API image.
#   docker build -t paygov:0.1.0 .
#   docker run --env-file paygov.env -p 8000:8000 paygov:0.1.0
# The image runs `paygov serve`; run `paygov migrate` from the same image before it
# (see deploy/docker-compose.yml and deploy/k8s/migrate-job.yaml).

# --- builder: a virtual environment with PayGov and its dependencies ----------------
FROM python:3.11-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so code changes reuse this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt

# Then the project itself. It is installed in editable mode on purpose: `paygov migrate`
# finds alembic.ini and migrations/ relative to the source tree, which a regular wheel
# install would not carry. The runtime stage keeps /app and /opt/venv at the same paths.
COPY . .
RUN pip install --no-deps -e . \
 && python -m compileall -q /app/paygov /app/migrations

# --- runtime: the same venv and source tree, no build tools, non-root ---------------
FROM python:3.11-slim AS runtime

RUN groupadd --system --gid 10001 paygov \
 && useradd --system --uid 10001 --gid paygov --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin paygov \
 && mkdir -p /var/lib/paygov \
 && chown paygov:paygov /var/lib/paygov

COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app

# Production by default: without real secrets the process stops at start-up with one
# line naming the missing setting. PAYGOV_DATABASE_URL must point at PostgreSQL.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PAYGOV_ENVIRONMENT=production \
    PAYGOV_VAR_DIR=/var/lib/paygov

WORKDIR /app
USER 10001:10001
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

CMD ["paygov", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
