#!/usr/bin/env bash
# The real stores that `make test` runs against: Redis, MariaDB and FerretDB (MongoDB wire protocol)
# on PostgreSQL, started as plain processes on 127.0.0.1 with all their data under .servers/.
#
#   scripts/servers.sh install        apt-get what is missing, build bin/ferretdb when missing or stale
#   scripts/servers.sh start          wipe .servers/, start them all, wait for them, write .servers/env
#   scripts/servers.sh stop           stop them all (those already stopped are skipped)
#   scripts/servers.sh status         say which of them are running
#
# After `start`, `. .servers/env` exports STORYBANG_TEST_{REDIS,MYSQL,MONGO}_URL for the tests, and
# STORYBANG_TEST_MONGO_BACKEND, what FerretDB keeps its data in.
# No systemd: the daemons are started directly, so this works in containers and on CI runners, and
# the system's own services (if apt-get started them) are left alone on their default ports.
#
# Settings (environment):
#   SERVERS_FERRETDB_BACKEND   postgresql (default) or sqlite: FerretDB on a PostgreSQL server started
#                              here, or on SQLite files (no PostgreSQL; one writer at a time, so every
#                              MongoDB client queues behind the others)
#   SERVERS_STATE              the state directory (default .servers/), for a second set of servers
#   SERVERS_{REDIS,MYSQL,MONGO,POSTGRES}_PORT   the ports (16379, 13306, 27018, 15432)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${SERVERS_STATE:-$ROOT/.servers}"
[[ $STATE == /* ]] || STATE="$PWD/$STATE"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
LOG_PREFIX=servers PROC_DIR=$STATE LOG_DIR=$STATE
FERRETDB_BIN="$ROOT/bin/ferretdb"
FERRETDB_SRC="$ROOT/tools/ferretdb"

# Non-default ports, so a system Redis/MariaDB/MongoDB on the usual ones never meets the tests.
REDIS_PORT=${SERVERS_REDIS_PORT:-16379}
MYSQL_PORT=${SERVERS_MYSQL_PORT:-13306}
MONGO_PORT=${SERVERS_MONGO_PORT:-27018}
POSTGRES_PORT=${SERVERS_POSTGRES_PORT:-15432}

FERRETDB_BACKEND=${SERVERS_FERRETDB_BACKEND:-postgresql}
[[ $FERRETDB_BACKEND == postgresql || $FERRETDB_BACKEND == sqlite ]] ||
	die "SERVERS_FERRETDB_BACKEND is postgresql or sqlite, not '$FERRETDB_BACKEND'"

# A first MariaDB start creates InnoDB files; on a busy two-core machine that takes a while.
READY_TIMEOUT_S=60
STOP_TIMEOUT_S=30


# ---------------------------------------------------------------------------------------------- install

ferretdb_is_stale() {
	[[ ! -x "$FERRETDB_BIN" ]] && return 0
	# Any source, go.mod or go.sum newer than the binary means it was built from something else.
	[[ -n "$(find "$FERRETDB_SRC" -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) \
		-newer "$FERRETDB_BIN" -print -quit)" ]]
}

build_ferretdb() {
	command -v go >/dev/null || die "Go is needed to build bin/ferretdb (FerretDB v1 requires Go >= 1.24)"
	log "building bin/ferretdb (cold: a few minutes, most of it fetching ~600 MB of Go modules)"
	mkdir -p "$(dirname "$FERRETDB_BIN")"
	# Build beside the target and rename, so an interrupted build never leaves a broken binary that
	# looks newer than its sources. Both backends are built in: PostgreSQL and SQLite.
	(
		cd "$FERRETDB_SRC"
		GOTOOLCHAIN=local GOFLAGS='-trimpath -buildvcs=false -mod=readonly' \
			nice go build -o "$FERRETDB_BIN.tmp" .
	)
	mv -f "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
}

cmd_install() {
	local missing=() pkg
	# postgresql: what FerretDB keeps its data in; apertium + apertium-eng-spa: the offline translation
	# backend the tests run for real; fonts-dejavu-core: the Unicode font of a story's PDF (as in the image).
	for pkg in redis-server mariadb-server postgresql apertium apertium-eng-spa fonts-dejavu-core; do
		installed "$pkg" || missing+=("$pkg")
	done
	if ((${#missing[@]})); then
		[[ $EUID -eq 0 ]] || die "installing ${missing[*]} needs root"
		log "installing ${missing[*]}"
		apt_install "${missing[@]}"
	fi
	if ferretdb_is_stale; then
		build_ferretdb
	fi
	log "install: ok"
}

# ---------------------------------------------------------------------------------------------- processes

require_free_port() {
	! port_open "$2" || die "port $2 for $1 is taken by another process"
}

# ---------------------------------------------------------------------------------------------- redis

write_redis_conf() {
	mkdir -p "$STATE/redis"
	# Only the append-only file persists data: no RDB snapshots that appear in (or load from) some
	# working directory.
	cat >"$STATE/redis/redis.conf" <<-EOF
		bind 127.0.0.1
		port $REDIS_PORT
		protected-mode yes
		daemonize no
		dir $STATE/redis
		appendonly yes
		appendfsync everysec
		save ""
		loglevel notice
	EOF
}

start_redis() {
	require_free_port redis "$REDIS_PORT"
	proc_start redis redis-server "$STATE/redis/redis.conf"
	# PING answers LOADING while the AOF is replayed, which is not ready.
	proc_wait redis "$READY_TIMEOUT_S" redis_ping
}

redis_ping() {
	[[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping)" == PONG ]]
}

# ---------------------------------------------------------------------------------------------- mariadb

mysql_socket() { echo "$STATE/mysql/mysqld.sock"; }

# The admin account: mariadb-install-db makes one named after the OS user, authenticated by the
# unix socket, so no password exists anywhere.
mysql_admin() {
	mariadb --no-defaults --socket="$(mysql_socket)" --user="$(id -un)" "$@"
}

start_mariadb() {
	local dir="$STATE/mysql" sock
	sock="$(mysql_socket)"
	# sun_path holds 108 bytes; a deeper checkout would die later with a far less clear error.
	((${#sock} < 100)) || die "MariaDB socket path too long (${#sock} bytes): $sock"
	require_free_port mariadb "$MYSQL_PORT"
	mkdir -p "$dir/data" "$dir/tmp"
	# --no-defaults everywhere: the system's /etc/mysql config must not move sockets, ports or data.
	mariadb-install-db --no-defaults --user="$(id -un)" --datadir="$dir/data" \
		--skip-test-db --auth-root-authentication-method=socket >>"$STATE/mariadb.log" 2>&1 ||
		{ tail -n 30 "$STATE/mariadb.log" >&2; die "mariadb-install-db failed"; }
	# Tests need speed, not durability across a power cut: commit to the OS cache, not the disk.
	proc_start mariadb mariadbd --no-defaults --user="$(id -un)" \
		--datadir="$dir/data" --tmpdir="$dir/tmp" --socket="$sock" --pid-file="$dir/mariadbd.pid" \
		--bind-address=127.0.0.1 --port="$MYSQL_PORT" --skip-name-resolve \
		--character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci --default-time-zone=+00:00 \
		--innodb-flush-log-at-trx-commit=2 --performance-schema=OFF
	proc_wait mariadb "$READY_TIMEOUT_S" mysql_admin -e 'select 1'
	# `storybang\_%` (the underscore escaped, else it is a wildcard) lets tests create and drop their
	# own databases, e.g. storybang_t1234, beside the shared `storybang`.
	mysql_admin --batch <<-'SQL'
		DELETE FROM mysql.global_priv WHERE User = '';
		FLUSH PRIVILEGES;
		CREATE DATABASE storybang CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
		CREATE USER 'storybang'@'%' IDENTIFIED BY 'storybang';
		CREATE USER 'storybang'@'localhost' IDENTIFIED BY 'storybang';
		GRANT ALL PRIVILEGES ON `storybang`.* TO 'storybang'@'%', 'storybang'@'localhost';
		GRANT ALL PRIVILEGES ON `storybang\_%`.* TO 'storybang'@'%', 'storybang'@'localhost';
	SQL
}

# ---------------------------------------------------------------------------------------------- postgresql

# The newest server the `postgresql` package brought (Debian keeps each major version apart).
postgres_bin() {
	local dirs
	dirs="$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/postgres' -printf '%h\n' 2>/dev/null | sort -V)"
	[[ -n $dirs ]] || die "PostgreSQL is missing: run scripts/servers.sh install"
	echo "${dirs##*$'\n'}"
}

# PostgreSQL refuses to run as root: then it runs as the `postgres` user the package made.
postgres_user() {
	if ((EUID == 0)); then echo postgres; else id -un; fi
}

# as_postgres COMMAND...: COMMAND as that user, from a directory it may read (initdb looks at its own).
as_postgres() {
	local user
	user="$(postgres_user)"
	if [[ $user == "$(id -un)" ]]; then
		(cd / && "$@")
	else
		(cd / && setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- "$@")
	fi
}

# The admin account is the superuser initdb makes, `postgres`, trusted on the unix socket only; over
# TCP every account needs its password.
postgres_admin() {
	"$(postgres_bin)/psql" --no-psqlrc --quiet --set=ON_ERROR_STOP=1 \
		--host="$(postgres_dir)" --port="$POSTGRES_PORT" --username=postgres "$@"
}

# PostgreSQL's directory: under the state directory, or (see start_postgres) one of its own in /tmp.
postgres_dir() {
	if [[ -f "$STATE/postgres-dir" ]]; then cat "$STATE/postgres-dir"; else echo "$STATE/postgres"; fi
}

# The directory start_postgres made outside the state directory, if it did.
remove_postgres_dir() {
	local dir
	[[ -f "$STATE/postgres-dir" ]] || return 0
	dir="$(cat "$STATE/postgres-dir")"
	[[ $dir == /tmp/storybang-postgres.* ]] && rm -rf "$dir"
	rm -f "$STATE/postgres-dir"
}

start_postgres() {
	local dir="$STATE/postgres" bin user sock
	bin="$(postgres_bin)"
	user="$(postgres_user)"
	require_free_port postgresql "$POSTGRES_PORT"
	mkdir -p "$dir"
	chown "$user" "$dir"
	sock="$dir/.s.PGSQL.$POSTGRES_PORT"
	# A checkout under a private home (/root) is out of the postgres user's reach, and a deep one makes
	# a socket path longer than a unix socket may be: PostgreSQL then lives in a directory of its own.
	if ((${#sock} >= 100)) || ! as_postgres test -w "$dir"; then
		rmdir "$dir"
		dir="$(mktemp -d /tmp/storybang-postgres.XXXXXX)"
		chown "$user" "$dir"
		echo "$dir" >"$STATE/postgres-dir"
		log "postgres: data in $dir (the postgres user cannot use $STATE)"
	fi
	# The C locale: strings compare by their bytes, as MongoDB compares them.
	as_postgres "$bin/initdb" --pgdata="$dir/data" --username=postgres --encoding=UTF8 --no-locale \
		--auth-local=trust --auth-host=scram-sha-256 --no-sync >>"$STATE/postgres.log" 2>&1 ||
		{ tail -n 30 "$STATE/postgres.log" >&2; die "initdb failed"; }
	# Tests need speed, not durability across a power cut: no fsync, commits not waited for on disk.
	PROC_USER="$([[ $user == "$(id -un)" ]] || echo "$user")" proc_start postgres "$bin/postgres" \
		-D "$dir/data" -k "$dir" -h 127.0.0.1 -p "$POSTGRES_PORT" \
		-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c log_min_messages=warning
	proc_wait postgres "$READY_TIMEOUT_S" "$bin/pg_isready" --quiet --host=127.0.0.1 --port="$POSTGRES_PORT"
	# FerretDB keeps each MongoDB database as a schema of the PostgreSQL database `storybang`.
	postgres_admin --dbname=postgres <<-'SQL'
		CREATE ROLE storybang LOGIN PASSWORD 'storybang';
		CREATE DATABASE storybang OWNER storybang;
	SQL
}

# SIGINT is PostgreSQL's fast shutdown: clients are disconnected, the data written out. (SIGTERM waits
# for every client to leave.)
stop_postgres() {
	local pid i
	pid="$(proc_pid postgres)"
	if [[ -n $pid ]]; then
		kill -INT "$pid" 2>/dev/null || true
		for ((i = 0; i < STOP_TIMEOUT_S * 10; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
		alive "$pid" || log "stopped postgres"
	fi
	# Whatever is left (a PostgreSQL that did not stop in time) is killed with its process group.
	proc_stop postgres "$STOP_TIMEOUT_S"
}

# ---------------------------------------------------------------------------------------------- ferretdb

start_ferretdb() {
	local storage=()
	[[ -x "$FERRETDB_BIN" ]] || die "bin/ferretdb is missing: run scripts/servers.sh install"
	require_free_port ferretdb "$MONGO_PORT"
	if [[ $FERRETDB_BACKEND == postgresql ]]; then
		storage=(--postgresql-url "postgres://storybang:storybang@127.0.0.1:$POSTGRES_PORT/storybang")
	else
		storage=(--sqlite-dir "$STATE/ferretdb")
	fi
	proc_start ferretdb "$FERRETDB_BIN" --listen-addr "127.0.0.1:$MONGO_PORT" "${storage[@]}"
	proc_wait ferretdb "$READY_TIMEOUT_S" port_open "$MONGO_PORT"
}

# ---------------------------------------------------------------------------------------------- commands

cmd_stop() {
	[[ -d "$STATE" ]] || return 0
	proc_stop ferretdb "$STOP_TIMEOUT_S"
	stop_postgres
	proc_stop mariadb "$STOP_TIMEOUT_S"
	proc_stop redis "$STOP_TIMEOUT_S"
}

cmd_start() {
	cmd_stop
	remove_postgres_dir
	rm -rf "$STATE"
	mkdir -p "$STATE"
	# Whatever fails below, leave no half-started servers behind.
	trap 'status=$?; if ((status)); then cmd_stop; fi' EXIT
	write_redis_conf
	start_redis
	start_mariadb
	echo "$FERRETDB_BACKEND" >"$STATE/ferretdb-backend"
	if [[ $FERRETDB_BACKEND == postgresql ]]; then
		start_postgres
	fi
	start_ferretdb
	cat >"$STATE/env" <<-EOF
		export STORYBANG_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
		export STORYBANG_TEST_MYSQL_URL=mysql+asyncmy://storybang:storybang@127.0.0.1:$MYSQL_PORT/storybang
		export STORYBANG_TEST_MONGO_URL=mongodb://127.0.0.1:$MONGO_PORT/storybang
		export STORYBANG_TEST_MONGO_BACKEND=$FERRETDB_BACKEND
	EOF
	trap - EXIT
	log "all servers ready; environment in $STATE/env"
}

cmd_status() {
	local name pid rc=0 names=(redis mariadb ferretdb)
	# What the last `start` chose; servers started before PostgreSQL was an option have no record.
	if [[ "$(cat "$STATE/ferretdb-backend" 2>/dev/null)" == postgresql ]]; then
		names=(redis mariadb postgres ferretdb)
	fi
	for name in "${names[@]}"; do
		pid="$(proc_pid "$name")"
		if [[ -n "$pid" ]]; then
			echo "$name: running (pid $pid)"
		else
			echo "$name: stopped"
			rc=1
		fi
	done
	return "$rc"
}

# Two callers in one tree (parallel make targets, two terminals) would wipe each other's servers and
# data: they take turns on a lock held on this very file, so no lock file is left lying around.
take_lock() {
	exec 9<"${BASH_SOURCE[0]}"
	flock 9
}

case "${1:-}" in
install) take_lock && cmd_install ;;
start) take_lock && cmd_start ;;
stop) take_lock && cmd_stop ;;
status) cmd_status ;;
*)
	echo "usage: $0 install|start|stop|status" >&2
	exit 2
	;;
esac
