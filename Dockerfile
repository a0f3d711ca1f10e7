# vodgate's image: the gateway (`serve`) or a worker (`worker`), configured by environment
# only (VODGATE_*; see README). Dependencies are one layer, built before the source is
# copied, by the same script `make` uses (scripts/install-deps).
#
#   docker build -t vodgate .
#   docker run -e VODGATE_DATABASE_URL=... -p 8080:8080 vodgate serve
#   docker run -e VODGATE_DATABASE_URL=... vodgate worker

FROM python:3.11-slim AS build
# pdqhash ships no wheel: it is compiled (the image's Python has its headers).
RUN apt-get update \
    && apt-get install -y --no-install-recommends g++ \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY scripts/install-deps scripts/install-deps
RUN bash scripts/install-deps /opt/venv
COPY gateway gateway
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps .

FROM python:3.11-slim
# Debian's ffmpeg (hardened at run time by the gateway's own limits) and fpcalc (audio
# fingerprints for the hash banks).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg libchromaprint-tools \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/vodgate --create-home vodgate
COPY --from=build /opt/venv /opt/venv
# Models and policies are data: mount others over these folders to change them.
COPY models /app/models
COPY policies /app/policies
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    VODGATE_HOST=0.0.0.0 \
    VODGATE_DATA_DIR=/var/lib/vodgate \
    VODGATE_MODELS_DIR=/app/models \
    VODGATE_POLICIES_DIR=/app/policies
USER 10001
WORKDIR /var/lib/vodgate
EXPOSE 8080
# Liveness only (the process answers); a load balancer asks /readyz for readiness.
HEALTHCHECK --interval=15s --timeout=3s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
ENTRYPOINT ["vodgate"]
CMD ["serve"]
