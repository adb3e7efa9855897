# syntax=docker/dockerfile:1.7
# The storybang-redis image: Debian bookworm's Redis, a stand-in for the official redis image (the
# chart's default) on clusters that reach no registry. Built from the repository root:
#
#   docker build -f docker/redis.Dockerfile -t storybang-redis .     (or scripts/images.sh storybang-redis)
#
# The chart gives the command and every setting on it (redis-server --requirepass … --dir /data …),
# so the image needs no entrypoint and no config file. Runs as uid/gid 999, the official image's,
# with a read-only root filesystem: Redis writes only under /data.

ARG DEBIAN_IMAGE=debian:bookworm-slim

FROM ${DEBIAN_IMAGE}
# The user first: the package's postinst then keeps it (and its uid) instead of making its own.
RUN groupadd --system --gid 999 redis \
 && useradd --system --uid 999 --gid 999 --no-create-home --home-dir /data --shell /usr/sbin/nologin redis \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir /data \
 && chown redis:redis /data
VOLUME /data
WORKDIR /data
USER 999:999
EXPOSE 6379
CMD ["redis-server"]
