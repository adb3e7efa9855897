# syntax=docker/dockerfile:1.7
# The storybang-mariadb image: Debian bookworm's MariaDB (10.11), a stand-in for the official mariadb
# image (the chart's default) on clusters that reach no registry. Built from the repository root:
#
#   docker build -f docker/mariadb.Dockerfile -t storybang-mariadb .   (or scripts/images.sh storybang-mariadb)
#
# Its entrypoint (docker/mariadb-entrypoint.sh) takes the official image's MARIADB_* variables and
# arguments. Runs as uid/gid 999, the official image's, with a read-only root filesystem: the server
# writes only to /var/lib/mysql, /run/mysqld (its socket) and /tmp, which the chart mounts.

ARG DEBIAN_IMAGE=debian:bookworm-slim

FROM ${DEBIAN_IMAGE}
# The user first: the package's postinst then keeps it (and its uid) instead of making its own. The
# postinst also initialises /var/lib/mysql; that goes, as the entrypoint makes the data directory
# from the environment on the first start. /run/mysqld is open to every user, as in the official
# image, for a container started under another uid.
RUN groupadd --system --gid 999 mysql \
 && useradd --system --uid 999 --gid 999 --no-create-home --home-dir /var/lib/mysql --shell /usr/sbin/nologin mysql \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mariadb-server mariadb-client \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && rm -rf /var/lib/mysql \
 && mkdir -p /var/lib/mysql /run/mysqld \
 && chown mysql:mysql /var/lib/mysql /run/mysqld \
 && chmod 1777 /run/mysqld
# As the official image: every address (the Service reaches the pod on its own), no host cache nor
# name lookups. Read after Debian's own files, whose 50-server.cnf binds to 127.0.0.1 only. The
# error log stays on stderr, the default.
RUN printf '%s\n' '[mariadbd]' 'bind-address = *' 'host-cache-size = 0' 'skip-name-resolve' \
      >/etc/mysql/mariadb.conf.d/90-container.cnf
COPY docker/mariadb-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /var/lib/mysql
USER 999:999
EXPOSE 3306
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["mariadbd"]
