# syntax=docker/dockerfile:1.7
# The storybang-ferretdb image: FerretDB v1 (the MongoDB wire protocol on SQLite), a stand-in for the
# official mongo image (the chart's default) on clusters that reach no registry. Built from the
# repository root, after the binary (FerretDB's own command, which Debian does not package):
#
#   scripts/images.sh storybang-ferretdb     (builds bin/ferretdb-upstream, then the image)
#
# Its entrypoint (docker/ferretdb-entrypoint.sh) takes the official image's MONGO_INITDB_* variables
# and the chart's MONGO_APP_* ones, and mongod's arguments. Runs as uid/gid 999, the official image's,
# with a read-only root filesystem: the data is in /data/db, and nothing else is written.

ARG DEBIAN_IMAGE=debian:bookworm-slim

FROM ${DEBIAN_IMAGE}
RUN groupadd --system --gid 999 mongodb \
 && useradd --system --uid 999 --gid 999 --no-create-home --home-dir /data/db --shell /usr/sbin/nologin mongodb \
 && mkdir -p /data/db /data/configdb /docker-entrypoint-initdb.d \
 && chown mongodb:mongodb /data/db /data/configdb
COPY docker/ferretdb-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
COPY bin/ferretdb-upstream /usr/local/bin/ferretdb
VOLUME /data/db /data/configdb
USER 999:999
EXPOSE 27017
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["mongod"]
