#!/usr/bin/env bash
# The entrypoint of storybang-mariadb (docker/mariadb.Dockerfile): what the official mariadb image's
# entrypoint does for the variables the chart sets (charts/storybang/templates/datastores/mysql.yaml).
#
#   MARIADB_ROOT_PASSWORD   root's password, for root@localhost and root@'%' (required on the first start)
#   MARIADB_DATABASE        a database made on the first start
#   MARIADB_USER            a user made on the first start, @'%', with every privilege on MARIADB_DATABASE,
#   MARIADB_PASSWORD          and its password
#   MARIADB_AUTO_UPGRADE    when set, the system tables of a data directory that another MariaDB version
#                           wrote are upgraded (mariadb-upgrade) before the server starts
#
# The first start (no mysql/ in the data directory) initialises the data directory and sets it up
# through a temporary server without networking: the TCP port, which the chart's startup probe
# watches, answers only once the real server runs. Later starts leave users and databases alone.
# Arguments that begin with "-" are mariadbd's; any other command runs as it is (e.g. bash).
# Passwords reach the server as SQL on the client's stdin: never on a command line, never logged.
set -euo pipefail

DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock
# A first start creates the InnoDB files; on a slow disk that takes a while.
START_TIMEOUT_S=120

log() { printf '%s [Note] [Entrypoint]: %s\n' "$(date '+%F %T')" "$*" >&2; }
die() { printf '%s [ERROR] [Entrypoint]: %s\n' "$(date '+%F %T')" "$*" >&2; exit 1; }

# A value as an SQL string literal, with backslash escapes (setup_sql makes sure sql_mode reads them).
sql_string() {
  local s=${1//\\/\\\\}
  printf "'%s'" "${s//\'/\\\'}"
}

# A database name as an identifier for GRANT, where "_" would be a wildcard (escaped, as the official
# image does).
sql_grant_db() {
  local s=${1//\`/\`\`}
  printf "\`%s\`" "${s//_/\\_}"
}

# A database name as an identifier.
sql_db() { printf "\`%s\`" "${1//\`/\`\`}"; }

# The server's major.minor version, e.g. 10.11 (`mariadbd --version`: 10.11.11-MariaDB-0+deb12u1).
server_version() { mariadbd --version | awk '{ split($3, v, "[.-]"); print v[1] "." v[2] }'; }

# start_temp_server ARGS...: mariadbd on its unix socket only, with the container's arguments.
start_temp_server() {
  mariadbd "$@" --skip-networking --socket="$SOCKET" --skip-slave-start \
    --loose-innodb-buffer-pool-load-at-startup=0 --loose-innodb-buffer-pool-dump-at-shutdown=0 &
  TEMP_PID=$!
  local i
  for ((i = 0; i < START_TIMEOUT_S * 2; i++)); do
    kill -0 "$TEMP_PID" 2>/dev/null || die "the temporary server stopped (see its log above)"
    mariadb-admin --socket="$SOCKET" --user=root --silent ping >/dev/null 2>&1 && return
    sleep 0.5
  done
  die "the temporary server did not answer within $START_TIMEOUT_S s"
}

stop_temp_server() {
  kill "$TEMP_PID"
  wait "$TEMP_PID"
}

# The setup, as SQL: root as the official image leaves it, root@localhost and root@'%' with the
# password (mariadb-install-db's other root accounts dropped), then the database and the user.
setup_sql() {
  local root_password
  root_password=$(sql_string "$MARIADB_ROOT_PASSWORD")
  cat <<-SQL
	SET @@SESSION.SQL_LOG_BIN = 0;
	SET @@SESSION.SQL_MODE = REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');
	DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1';
	EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@''', @@hostname, '''');
	ALTER USER 'root'@'localhost' IDENTIFIED BY $root_password;
	CREATE USER 'root'@'%' IDENTIFIED BY $root_password;
	GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;
	GRANT PROXY ON ''@'%' TO 'root'@'%' WITH GRANT OPTION;
	SQL
  if [[ -n ${MARIADB_DATABASE:-} ]]; then
    echo "CREATE DATABASE IF NOT EXISTS $(sql_db "$MARIADB_DATABASE");"
  fi
  if [[ -n ${MARIADB_USER:-} ]]; then
    echo "CREATE USER $(sql_string "$MARIADB_USER")@'%' IDENTIFIED BY $(sql_string "$MARIADB_PASSWORD");"
    if [[ -n ${MARIADB_DATABASE:-} ]]; then
      echo "GRANT ALL ON $(sql_grant_db "$MARIADB_DATABASE").* TO $(sql_string "$MARIADB_USER")@'%';"
    fi
  fi
}

# init_datadir ARGS...: a new data directory, set up from the environment.
init_datadir() {
  [[ -n ${MARIADB_ROOT_PASSWORD:-} ]] || die "the data directory is empty and MARIADB_ROOT_PASSWORD is not set"
  if [[ -n ${MARIADB_USER:-} && -z ${MARIADB_PASSWORD:-} ]]; then
    die "MARIADB_USER is set but MARIADB_PASSWORD is not"
  fi
  [[ ${MARIADB_USER:-} != root ]] || die "MARIADB_USER is root: root is made from MARIADB_ROOT_PASSWORD"
  log "initialising the data directory $DATADIR"
  # The container's arguments too, so that the system tables get its character set. --rpm: no lookup
  # of the host's own name, which a new pod's may not have yet. Its stdout is advice for a manual
  # install; errors go to stderr.
  mariadb-install-db --datadir="$DATADIR" --auth-root-authentication-method=normal --skip-test-db \
    --skip-log-bin --rpm "$@" >/dev/null || die "mariadb-install-db failed (see above)"
  start_temp_server "$@"
  log "setting root's password${MARIADB_DATABASE:+, database $MARIADB_DATABASE}${MARIADB_USER:+, user $MARIADB_USER}"
  setup_sql | mariadb --socket="$SOCKET" --user=root --database=mysql --batch --binary-mode
  stop_temp_server
  log "initialised"
}

# upgrade_datadir ARGS...: mariadb-upgrade, when the version that mariadb-install-db or the last
# upgrade recorded (mysql_upgrade_info: 10.11.11-MariaDB) is of another major.minor than this
# server (mariadb-upgrade itself skips patch releases). It runs on a server without grant tables,
# hence without networking.
upgrade_datadir() {
  local recorded current
  recorded=$(cat "$DATADIR/mysql_upgrade_info" 2>/dev/null || true)
  recorded=$(awk -F '[.-]' '{ print $1 "." $2 }' <<<"$recorded")
  current=$(server_version)
  [[ $recorded != "$current" ]] || return 0
  log "upgrading the system tables (written by ${recorded:-an unknown version}, now $current)"
  start_temp_server "$@" --skip-grant-tables
  mariadb-upgrade --socket="$SOCKET" --upgrade-system-tables --silent
  stop_temp_server
}

if [[ ${1:-} == -* ]]; then
  set -- mariadbd "$@"
fi
if [[ ${1:-} == mariadbd || ${1:-} == mysqld ]]; then
  shift
  if [[ ! -d $DATADIR/mysql ]]; then
    init_datadir "$@"
  elif [[ -n ${MARIADB_AUTO_UPGRADE:-} ]]; then
    upgrade_datadir "$@"
  fi
  # The server needs none of them; they stay out of its environment.
  unset MARIADB_ROOT_PASSWORD MARIADB_PASSWORD
  exec mariadbd "$@"
fi
exec "$@"
