#!/usr/bin/env bash
# The real stores that `make test` runs against: Redis, MariaDB and FerretDB (MongoDB wire protocol on
# SQLite), started as plain processes on 127.0.0.1 with all their data under .servers/.
#
#   scripts/servers.sh install        apt-get what is missing, build bin/ferretdb when missing or stale
#   scripts/servers.sh start          wipe .servers/, start all three, wait for them, write .servers/env
#   scripts/servers.sh stop           stop all three (those already stopped are skipped)
#   scripts/servers.sh status         say which of the three are running
#
# After `start`, `. .servers/env` exports STORYBANG_TEST_{REDIS,MYSQL,MONGO}_URL for the tests.
# No systemd: the daemons are started directly, so this works in containers and on CI runners, and
# the system's own services (if apt-get started them) are left alone on their default ports.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/.servers"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
LOG_PREFIX=servers PROC_DIR=$STATE LOG_DIR=$STATE
FERRETDB_BIN="$ROOT/bin/ferretdb"
FERRETDB_SRC="$ROOT/tools/ferretdb"

# Non-default ports, so a system Redis/MariaDB/MongoDB on the usual ones never meets the tests.
REDIS_PORT=${SERVERS_REDIS_PORT:-16379}
MYSQL_PORT=${SERVERS_MYSQL_PORT:-13306}
MONGO_PORT=${SERVERS_MONGO_PORT:-27018}

# A first MariaDB start creates InnoDB files; on a busy two-core machine that takes a while.
READY_TIMEOUT_S=60
STOP_TIMEOUT_S=30


# ---------------------------------------------------------------------------------------------- install

apt_install() {
	# Lists are fetched only when there are none, or when the ones present are too old to install from.
	export DEBIAN_FRONTEND=noninteractive
	if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
		apt-get update -q
	fi
	if ! apt-get install -y -q --no-install-recommends "$@"; then
		apt-get update -q
		apt-get install -y -q --no-install-recommends "$@"
	fi
}

installed() {
	[[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

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
	# looks newer than its sources. PostgreSQL support is left out: the tests use the SQLite backend.
	(
		cd "$FERRETDB_SRC"
		GOTOOLCHAIN=local GOFLAGS='-trimpath -buildvcs=false -mod=readonly' \
			nice go build -tags ferretdb_no_postgresql -o "$FERRETDB_BIN.tmp" .
	)
	mv -f "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
}

cmd_install() {
	local missing=() pkg
	# apertium + apertium-eng-spa: the offline translation backend the tests run for real;
	# fonts-dejavu-core: the Unicode font of a story's PDF (as in the image).
	for pkg in redis-server mariadb-server apertium apertium-eng-spa fonts-dejavu-core; do
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

# ---------------------------------------------------------------------------------------------- ferretdb

start_ferretdb() {
	[[ -x "$FERRETDB_BIN" ]] || die "bin/ferretdb is missing: run scripts/servers.sh install"
	require_free_port ferretdb "$MONGO_PORT"
	proc_start ferretdb "$FERRETDB_BIN" --listen-addr "127.0.0.1:$MONGO_PORT" --sqlite-dir "$STATE/ferretdb"
	proc_wait ferretdb "$READY_TIMEOUT_S" port_open "$MONGO_PORT"
}

# ---------------------------------------------------------------------------------------------- commands

cmd_stop() {
	[[ -d "$STATE" ]] || return 0
	proc_stop ferretdb "$STOP_TIMEOUT_S"
	proc_stop mariadb "$STOP_TIMEOUT_S"
	proc_stop redis "$STOP_TIMEOUT_S"
}

cmd_start() {
	cmd_stop
	rm -rf "$STATE"
	mkdir -p "$STATE"
	# Whatever fails below, leave no half-started servers behind.
	trap 'status=$?; if ((status)); then cmd_stop; fi' EXIT
	write_redis_conf
	start_redis
	start_mariadb
	start_ferretdb
	cat >"$STATE/env" <<-EOF
		export STORYBANG_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
		export STORYBANG_TEST_MYSQL_URL=mysql+asyncmy://storybang:storybang@127.0.0.1:$MYSQL_PORT/storybang
		export STORYBANG_TEST_MONGO_URL=mongodb://127.0.0.1:$MONGO_PORT/storybang
	EOF
	trap - EXIT
	log "all servers ready; environment in $STATE/env"
}

cmd_status() {
	local name pid rc=0
	for name in redis mariadb ferretdb; do
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
