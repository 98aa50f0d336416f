# syntax=docker/dockerfile:1
# Two images from one file:
#   docker build --target bot -t safestep-bot .   (Python 3.11: webhooks, console, workers)
#   docker build --target nlu -t safestep-nlu .   (Python 3.10: Rasa 3.6 NLU server, model baked in)

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
# RASA_TOKEN must be set; the bot sends it with every parse.
CMD ["sh", "-c", "exec rasa run --enable-api -i 0.0.0.0 -p 5005 --auth-token \"$RASA_TOKEN\" -m models/safestep.tar.gz"]

FROM python:3.11-slim AS bot
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 ENVIRONMENT=production
WORKDIR /app
COPY requirements.lock /app/requirements.lock
RUN pip install --no-cache-dir -r requirements.lock
COPY pyproject.toml alembic.ini README.md /app/
COPY bot/ /app/bot/
COPY migrations/ /app/migrations/
COPY flows/ /app/flows/
COPY locales/ /app/locales/
COPY data/ /app/data/
RUN pip install --no-cache-dir --no-deps . && useradd --create-home --uid 10001 safestep
USER safestep
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["sh", "-c", "safestep db upgrade && exec safestep serve --host 0.0.0.0 --port 8000"]
