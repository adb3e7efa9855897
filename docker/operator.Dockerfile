# syntax=docker/dockerfile:1.7
# The storybang-operator image (Kopf), built from the repository root:
#
#   docker build -f docker/operator.Dockerfile -t storybang-operator .
#
# It carries the vLLM model profiles of inference/vllm/ at /etc/storybang/vllm-profiles, the
# default of STORYBANG_OPERATOR_PROFILES_DIR (the operator refuses to start without the folder).
# Runs as uid/gid 10001 with a read-only root filesystem.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# The operator exactly as uv.lock has it, installed by uv at the version scripts/uv.sh pins.
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_PROJECT_ENVIRONMENT=/opt/operator \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1
WORKDIR /src
COPY scripts/uv.sh scripts/uv.sh
COPY pyproject.toml uv.lock ./
COPY services/pyproject.toml services/pyproject.toml
COPY operator/pyproject.toml operator/pyproject.toml
COPY testing/pyproject.toml testing/pyproject.toml
RUN scripts/uv.sh sync --locked --no-install-workspace --package storybang-operator
COPY operator/src operator/src
RUN scripts/uv.sh sync --locked --no-editable --package storybang-operator

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 storybang \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin storybang
COPY --from=build /opt/operator /opt/operator
COPY inference/vllm/ /etc/storybang/vllm-profiles/
ENV PATH=/opt/operator/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
USER 10001:10001
# 8080: Kopf's liveness endpoint; 9090: Prometheus metrics.
EXPOSE 8080 9090
ENTRYPOINT ["kopf"]
CMD ["run", "-m", "storybang_operator", "--all-namespaces", "--liveness=http://0.0.0.0:8080/healthz"]
