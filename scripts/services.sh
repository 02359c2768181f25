#!/usr/bin/env bash
# PostgreSQL + Redis for tests and dev.  Usage: scripts/services.sh up|down|env
#   up    start (or reuse) both, create databases bokji and bokji_test; a warm call is near-instant
#   env   print `export DATABASE_URL=...` / `export REDIS_URL=...` (the test database)
#   down  stop what `up` started
# DATABASE_URL / REDIS_URL already set: that service is only checked, never started or stopped.
# Ports: PGPORT (54329), REDIS_PORT (63790) on 127.0.0.1. State: BOKJI_STATE_DIR.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
HOST=127.0.0.1
PGPORT=${PGPORT:-54329}
REDIS_PORT=${REDIS_PORT:-63790}
# As root, PostgreSQL refuses to run as root and runs as `postgres`, which cannot traverse a repo under
# /root (mode 700). So root defaults to /tmp/bokji-<hash of repo path> (one per checkout, short enough
# for the unix socket path); other users keep the state in the repo. bokji/launcher.py uses the same rule.
if [[ -z ${BOKJI_STATE_DIR:-} ]]; then
  if ((EUID == 0)); then
    BOKJI_STATE_DIR=/tmp/bokji-$(printf %s "$REPO" | sha1sum | cut -c1-12)
  else
    BOKJI_STATE_DIR=$REPO/.state
  fi
fi
STATE=$BOKJI_STATE_DIR
PGDATA=$STATE/pg PGRUN=$STATE/pg-run RDIR=$STATE/redis
export DEBIAN_FRONTEND=noninteractive

say() { echo "services: $*" >&2; }
die() { say "$*"; exit 1; }

tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
pg_answers() { # host port
  if command -v pg_isready >/dev/null; then pg_isready -q -h "$1" -p "$2" -t 2; else tcp_open "$1" "$2"; fi
}
redis_answers() { # host port
  if command -v redis-cli >/dev/null; then [[ $(redis-cli -h "$1" -p "$2" ping 2>/dev/null) == PONG ]]
  else tcp_open "$1" "$2"; fi
}
url_host_port() { # URL default_port -> "host port"
  [[ $1 =~ ://([^/@]*@)?([^:/?]+)(:([0-9]+))? ]] || die "cannot parse $1"
  echo "${BASH_REMATCH[2]} ${BASH_REMATCH[4]:-$2}"
}

APT_UPDATED=
apt_install() { # package: only as root with apt-get
  ((EUID == 0)) && command -v apt-get >/dev/null || return 0
  say "installing $1 (apt-get)"
  [[ -n $APT_UPDATED ]] || { apt-get update -qq >/dev/null; APT_UPDATED=1; }
  apt-get install -y -qq --no-install-recommends "$1" >/dev/null
}

pg_bindir() {
  local d
  d=$(pg_config --bindir 2>/dev/null || true)
  [[ -n $d && -x $d/initdb ]] && { echo "$d"; return; }
  d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -1)
  [[ -n $d && -x $d/initdb ]] && { echo "$d"; return; }
  d=$(command -v initdb || true)
  [[ -z $d ]] || dirname "$d"
}

as_pg() { # run a command as `postgres` when root, from a directory it can enter
  if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

ensure_packages() {
  command -v redis-server >/dev/null || [[ -n ${REDIS_URL:-} ]] || apt_install redis-server
  [[ -n $(pg_bindir) || -n ${DATABASE_URL:-} ]] || apt_install postgresql
  [[ -x /usr/bin/chromium ]] || apt_install chromium
}

pg_up() {
  if [[ -n ${DATABASE_URL:-} ]]; then
    # shellcheck disable=SC2046
    pg_answers $(url_host_port "$DATABASE_URL" 5432) || die "DATABASE_URL does not answer: $DATABASE_URL"
    return
  fi
  local bin psql
  bin=$(pg_bindir)
  if ! pg_answers "$HOST" "$PGPORT"; then
    [[ -n $bin ]] || die "PostgreSQL server binaries not found (apt-get install postgresql)"
    mkdir -p "$STATE" "$PGRUN"
    if ((EUID == 0)); then
      chmod 755 "$STATE"
      runuser -u postgres -- test -x "$STATE" || die "user postgres cannot enter $STATE: set BOKJI_STATE_DIR"
    fi
    if [[ ! -f $PGDATA/PG_VERSION ]]; then
      rm -rf "$PGDATA" && mkdir -m 700 "$PGDATA"
      ((EUID == 0)) && chown postgres: "$PGDATA"
      say "initdb $PGDATA"
      as_pg "$bin/initdb" -D "$PGDATA" --auth=trust --no-sync -U postgres -E UTF8 --no-locale >/dev/null
    fi
    ((EUID == 0)) && chown -R postgres: "$PGRUN"
    as_pg "$bin/pg_ctl" -D "$PGDATA" -l "$PGRUN/postgres.log" -w -t 60 start 9>&- -o "-p $PGPORT \
      -c listen_addresses=$HOST -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
      -c max_connections=200 -k '$PGRUN'" >/dev/null || { tail -20 "$PGRUN/postgres.log" >&2; die "postgres failed"; }
    say "postgres started on $HOST:$PGPORT ($PGDATA)"
  fi
  psql=$(command -v psql || echo "$bin/psql")
  local have db
  have=$("$psql" -h "$HOST" -p "$PGPORT" -U postgres -d postgres -XtAc 'select datname from pg_database')
  for db in bokji bokji_test; do
    grep -qx "$db" <<<"$have" || "$psql" -h "$HOST" -p "$PGPORT" -U postgres -d postgres -Xqc "create database $db"
  done
}

redis_up() {
  if [[ -n ${REDIS_URL:-} ]]; then
    # shellcheck disable=SC2046
    redis_answers $(url_host_port "$REDIS_URL" 6379) || die "REDIS_URL does not answer: $REDIS_URL"
    return
  fi
  redis_answers "$HOST" "$REDIS_PORT" && return
  command -v redis-server >/dev/null || die "redis-server not found (apt-get install redis-server)"
  mkdir -p "$RDIR"
  redis-server --bind "$HOST" --port "$REDIS_PORT" --save '' --appendonly no --daemonize yes \
    --pidfile "$RDIR/redis.pid" --logfile "$RDIR/redis.log" --dir "$RDIR" >/dev/null 9>&-
  for _ in $(seq 100); do redis_answers "$HOST" "$REDIS_PORT" && break; sleep 0.1; done
  redis_answers "$HOST" "$REDIS_PORT" || { tail -20 "$RDIR/redis.log" >&2; die "redis failed"; }
  say "redis started on $HOST:$REDIS_PORT"
}

down() {
  local bin pid
  bin=$(pg_bindir)
  if [[ -f $PGDATA/postmaster.pid && -n $bin ]]; then
    as_pg "$bin/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null && say "postgres stopped"
  fi
  if [[ -f $RDIR/redis.pid ]]; then
    pid=$(cat "$RDIR/redis.pid")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      say "redis stopped"
    fi
    rm -f "$RDIR/redis.pid"
  fi
}

# Serialise concurrent calls; the daemons are started with fd 9 closed so they do not keep the lock.
lock() { mkdir -p "$STATE"; exec 9>"$STATE/.lock"; if command -v flock >/dev/null; then flock 9; fi; }

case ${1:-} in
  up) lock; ensure_packages; pg_up; redis_up ;;
  down) lock; down ;;
  env)
    printf 'export DATABASE_URL=%q\n' "${DATABASE_URL:-postgresql+psycopg://postgres@$HOST:$PGPORT/bokji_test}"
    printf 'export REDIS_URL=%q\n' "${REDIS_URL:-redis://$HOST:$REDIS_PORT/0}"
    ;;
  *) echo "usage: $0 up|down|env" >&2; exit 2 ;;
esac
