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
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/operator
ENV PATH=/opt/operator/bin:$PATH
COPY operator/pyproject.toml /src/operator/pyproject.toml
COPY operator/src /src/operator/src
RUN pip install /src/operator \
 && python -m compileall -q /opt/operator/lib

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
