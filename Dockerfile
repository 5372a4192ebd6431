# syntax=docker/dockerfile:1.7
# The subnetes image: chain service, operator, CLI and reference workloads, one entrypoint
# (`subnetes <command>`). CPU by default; the CUDA variant for GPU miners and GPU consensus:
#   docker build -t subnetes:dev .
#   docker build -t subnetes:dev-cuda --build-arg VARIANT=cuda .
# The CUDA variant needs no CUDA base image: jax[cuda12] brings CUDA and cuDNN as pip wheels;
# the node's NVIDIA driver comes in through the NVIDIA container toolkit / device plugin.
#
# Same layout as the image `bash hack/build-images.sh` builds without Docker (Debian's
# python3, venv /opt/subnetes, user 10001, workdir /data, the same env and entrypoint), from the
# same lock file: requirements.lock (requirements-cuda.lock for VARIANT=cuda), made by
# `bash hack/lock-deps.sh`. The shared facts live in localnet/image.py;
# tests/localnet/test_image_dockerfile.py fails if this file disagrees with them.
# BASE_IMAGE may name another Debian bookworm image (a mirror of it, a pinned digest).
ARG BASE_IMAGE=debian:bookworm-slim

# ---- base: Debian's Python ---------------------------------------------------------------------
FROM ${BASE_IMAGE} AS base
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-venv ca-certificates libstdc++6 \
 && rm -rf /var/lib/apt/lists/*

# ---- build: the subnetes wheel -------------------------------------------------------------------
FROM base AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY chain/ chain/
COPY consensus/ consensus/
COPY gateway/ gateway/
COPY localnet/ localnet/
COPY operator/ operator/
COPY sdk/ sdk/
COPY subnetes/ subnetes/
COPY workloads/ workloads/
COPY wire/ wire/
RUN python3 -m venv /tmp/build \
 && /tmp/build/bin/pip wheel --no-cache-dir --disable-pip-version-check --no-deps \
      --wheel-dir /wheels .

# ---- runtime ------------------------------------------------------------------------------------
FROM base
ARG VARIANT=cpu
COPY requirements.lock requirements-cuda.lock /tmp/locks/
# The locked dependencies, hash-checked, then the subnetes wheel alone (--no-deps: the lock
# already holds everything it needs).
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    if [ "$VARIANT" = cuda ]; then lock=requirements-cuda.lock; else lock=requirements.lock; fi \
 && python3 -m venv /opt/subnetes \
 && /opt/subnetes/bin/pip install --no-cache-dir --disable-pip-version-check \
      --only-binary=:all: --require-hashes -r "/tmp/locks/$lock" \
 && /opt/subnetes/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps \
      --no-index /wheels/subnetes-*.whl \
 && rm -rf /tmp/locks \
 && groupadd --gid 10001 subnetes \
 && useradd --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin subnetes \
 && mkdir -p /data && chown 10001:10001 /data
ENV PATH=/opt/subnetes/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONUNBUFFERED=1 \
    SUBNETES_JAX_CACHE=/tmp/jax-cache
WORKDIR /data
# Non-root; the charts also run it with a read-only root filesystem (writable /tmp, /data).
USER 10001:10001
EXPOSE 9944 8091
ENTRYPOINT ["subnetes"]
CMD ["--help"]
