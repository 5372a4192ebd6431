# syntax=docker/dockerfile:1.7
# The subnetes image: chain service, operator, CLI and reference workloads, one entrypoint
# (`subnetes <command>`). CPU by default; the CUDA variant for GPU miners and GPU consensus:
#   docker build -t subnetes:dev .
#   docker build -t subnetes:dev-cuda --build-arg VARIANT=cuda .
# The CUDA variant needs no CUDA base image: jax[cuda12] brings CUDA and cuDNN as pip wheels;
# the node's NVIDIA driver comes in through the NVIDIA container toolkit / device plugin.
ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

# ---- build: wheels of subnetes and all its dependencies ---------------------------------------
FROM ${PYTHON_IMAGE} AS build
ARG VARIANT=cpu
WORKDIR /src
COPY pyproject.toml README.md ./
COPY subnetes/ subnetes/
COPY consensus/ consensus/
COPY chain/ chain/
COPY operator/ operator/
COPY localnet/ localnet/
COPY sdk/ sdk/
COPY workloads/ workloads/
RUN if [ "$VARIANT" = cuda ]; then target='.[gpu]'; else target='.'; fi \
 && pip wheel --no-cache-dir --wheel-dir /wheels "$target"

# ---- runtime ------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
ARG VARIANT=cpu
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    if [ "$VARIANT" = cuda ]; then target='subnetes[gpu]'; else target='subnetes'; fi \
 && python -m pip install --no-cache-dir --no-index --find-links /wheels "$target" \
 && groupadd --gid 10001 subnetes \
 && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin subnetes
ENV PYTHONUNBUFFERED=1 \
    SUBNETES_JAX_CACHE=/tmp/jax-cache
# Non-root; the charts also run it with a read-only root filesystem (writable /tmp, /data).
USER 10001:10001
EXPOSE 9944 8091
ENTRYPOINT ["subnetes"]
CMD ["--help"]
