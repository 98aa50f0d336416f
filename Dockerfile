# syntax=docker/dockerfile:1
# Two images from one file:
#   docker build --target bot -t safestep-bot .   (Python 3.11: web, workers, migrations)
#   docker build --target nlu -t safestep-nlu .   (Python 3.10: Rasa 3.6 NLU server, model baked in)
# compose.yaml runs them; tests/test_deploy.py runs the bot image's commands outside Docker.

FROM python:3.10-slim AS nlu
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 RASA_TELEMETRY_ENABLED=false
WORKDIR /nlu
COPY nlu/requirements.lock /nlu/requirements.lock
RUN pip install --no-cache-dir -r requirements.lock
COPY nlu/ /nlu/
RUN useradd --create-home --uid 10001 rasa && chown -R rasa /nlu
USER rasa
RUN rasa train nlu --config config.yml --nlu data --out models --fixed-model-name safestep
EXPOSE 5005
# Serving, not training: TensorFlow's thread pools one wide, as `safestep` starts the server
# (bot/understanding/nlu_env.py, SERVING_THREADS).
ENV TF_INTER_OP_PARALLELISM_THREADS=1 TF_INTRA_OP_PARALLELISM_THREADS=1
# RASA_TOKEN must be set; the bot sends it with every parse.
CMD ["sh", "-c", "exec rasa run --enable-api -i 0.0.0.0 -p 5005 --auth-token \"$RASA_TOKEN\" -m models/safestep.tar.gz"]

# The bot's virtual environment, built from the hashed uv.lock without the dev tools. The
# project goes in as a wheel (not editable): it carries its flows, locales, data, migrations,
# templates and static files, so the final stage needs nothing from the source tree.
FROM python:3.11-slim AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv
ENV UV_PYTHON_DOWNLOADS=never UV_PYTHON=/usr/local/bin/python3.11 UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/opt/safestep
WORKDIR /src
# Dependencies first: this layer is rebuilt only when the lock changes.
COPY pyproject.toml uv.lock /src/
RUN --mount=type=cache,target=/root/.cache/uv uv sync --frozen --no-dev --no-install-project
COPY README.md /src/
COPY bot/ /src/bot/
COPY migrations/ /src/migrations/
COPY flows/ /src/flows/
COPY locales/ /src/locales/
COPY data/ /src/data/
COPY nlu/ /src/nlu/
RUN --mount=type=cache,target=/root/.cache/uv uv sync --frozen --no-dev --no-editable

FROM python:3.11-slim AS bot
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 ENVIRONMENT=production \
    PATH=/opt/safestep/bin:$PATH
RUN useradd --create-home --uid 10001 safestep
COPY --from=build /opt/safestep /opt/safestep
USER safestep
WORKDIR /home/safestep
EXPOSE 8000
# Migrations are not run here: compose's one-shot `migrate` service runs `safestep db upgrade`.
HEALTHCHECK --start-period=30s CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/readyz', timeout=5)"]
CMD ["safestep", "serve", "--host", "0.0.0.0", "--port", "8000"]
