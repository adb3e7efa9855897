# shellcheck shell=bash
# Processes started, waited for and stopped the same way by every script that runs servers
# (servers.sh, cluster.sh, test-vllm.sh). Source it, then set:
#
#   LOG_PREFIX   what log lines start with (e.g. "servers")
#   PROC_DIR     where NAME.pid files go
#   LOG_DIR      where NAME.log files go
#
# Each process runs in a session of its own (setsid): a Ctrl-C in the terminal that started it does
# not reach it, it outlives the script, and stopping it stops its whole process group (vLLM's engine
# processes, a Redis rewriting its append-only file) and nothing else.

log() { printf '%s: %s\n' "$LOG_PREFIX" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# proc_start NAME COMMAND...: run COMMAND detached from our stdio (and from fd 9, which holds the
# servers' lock), its output appended to LOG_DIR/NAME.log. The process writes its own pid, and its
# program's name, to PROC_DIR/NAME.pid just before exec, so the pid is exact. With PROC_USER set,
# COMMAND runs as that user (setpriv execs it in place: the pid stays the same); for a daemon that
# refuses to run as root (PostgreSQL). PROC_PROGRAM names the program to look for when COMMAND is a
# wrapper that execs it in place (unshare, for cluster.sh's kubelet); it must be in COMMAND's words.
proc_start() {
  local name=$1 pidfile="$PROC_DIR/$1.pid" i as=() program=${PROC_PROGRAM:-${2##*/}}
  shift
  log "starting $name"
  rm -f "$pidfile"
  if [[ -n ${PROC_USER:-} ]]; then
    as=(setpriv --reuid="$PROC_USER" --regid="$(id -g "$PROC_USER")" --init-groups --)
  fi
  # shellcheck disable=SC2016 # $$, $0, $1 and $@ belong to the inner bash
  setsid bash -c 'echo "$$ $1" >"$0"; shift; exec "$@"' "$pidfile" "$program" "${as[@]}" "$@" \
    </dev/null >>"$LOG_DIR/$name.log" 2>&1 9<&- &
  # Wait for the pidfile, so that a stop right after the start finds it.
  for ((i = 0; i < 100; i++)); do
    [[ -s $pidfile ]] && return 0
    sleep 0.05
  done
  die "$name did not start (see $LOG_DIR/$name.log)"
}

# proc_pid NAME: the pid of NAME while it still runs the program it was started with, else nothing
# (a stale pidfile may name a pid that an unrelated process has since been given). The program's
# name is looked for in any case: servers retitle themselves ("redis-server 127.0.0.1:16379",
# "VLLM::APIServer").
proc_pid() {
  local pidfile="$PROC_DIR/$1.pid" pid program
  [[ -s $pidfile ]] || return 0
  read -r pid program <"$pidfile"
  if [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qiF -- "$program"; then
    echo "$pid"
  fi
}

proc_running() { [[ -n $(proc_pid "$1") ]]; }

# proc_wait NAME SECONDS COMMAND...: poll COMMAND until it succeeds; fail early, with the end of
# NAME's log, when NAME exits or SECONDS pass.
proc_wait() {
  local name=$1 timeout=$2 deadline=$((SECONDS + $2))
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ! proc_running "$name"; then
      tail -n 30 "$LOG_DIR/$name.log" >&2 || true
      die "$name exited during start (log: $LOG_DIR/$name.log)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$LOG_DIR/$name.log" >&2 || true
      die "$name was not ready within ${timeout}s (log: $LOG_DIR/$name.log)"
    fi
    sleep 0.2
  done
  log "$name is ready"
}

# alive PID: PID runs (a zombie, dead but not yet reaped by its parent, does not).
alive() { [[ -r /proc/$1/stat && $(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) != Z ]]; }

# proc_stop NAME [SECONDS]: SIGTERM to its process group, then SIGKILL after SECONDS (default 30);
# silent when NAME is not running.
proc_stop() {
  local name=$1 grace=${2:-30} pid i
  pid=$(proc_pid "$name")
  if [[ -n $pid ]]; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      log "$name did not stop in ${grace}s, killing it"
      kill -KILL -- "-$pid" 2>/dev/null || true
      while alive "$pid"; do sleep 0.1; done
    fi
    log "stopped $name"
  fi
  rm -f "$PROC_DIR/$name.pid"
}

# port_open PORT: something accepts connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# apt_install PACKAGE...: Debian packages, fetching the lists only when there are none or they are too
# old to install from. installed PACKAGE: whether dpkg has it.
apt_install() {
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
