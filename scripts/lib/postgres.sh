# Throwaway PostgreSQL for scripts: `start_postgres` makes a cluster in a temp folder on a free
# loopback port (installing the server with apt-get when none is found) and sets PG_BIN, PG_DIR,
# PG_PORT and PG_ADMIN_URL; `stop_postgres` stops it and removes the folder. Callers trap EXIT.

pg_log() { printf '==> %s\n' "$*"; }

find_pg_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

ensure_postgres() {
    PG_BIN=$(find_pg_bin)
    if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
        pg_log "PostgreSQL server not found; installing it with apt-get"
        apt_install postgresql
        PG_BIN=$(find_pg_bin)
    fi
    if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
        echo "error: could not find or install PostgreSQL" >&2
        return 1
    fi
}

# Installs Debian packages quietly: the scripts' one way to add a tool that is missing.
apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "$@" >/dev/null
}

# A fresh virtualenv at DIR with the given PyPI packages (apt-get adds python3-venv when missing):
# how every script's Python tool (localstripe, aiosmtpd, selenium, opentelemetry-proto,
# schemathesis) is installed, under .build/tools.
make_venv() {
    local dir=$1
    shift
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
        apt_install python3-venv
    fi
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# initdb refuses to run as root: run the cluster as the postgres user when we are root.
as_pg() {
    if [ "$(id -u)" = "0" ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# `start_postgres` (tests): fsync, synchronous commits and full page writes off, for speed; a
# throwaway cluster loses nothing that matters. `start_postgres durable` (benchmarks): those left
# at their defaults, so every commit is on disk as in production, with memory, WAL and checkpoint
# settings a production server of this size would have.
start_postgres() {
    local mode=${1:-fast}
    local settings="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    if [ "$mode" = "durable" ]; then
        settings="-c shared_buffers=512MB -c effective_cache_size=4GB -c wal_buffers=16MB -c max_wal_size=4GB -c checkpoint_timeout=15min -c checkpoint_completion_target=0.9 -c work_mem=8MB"
    fi
    # PG_EXTRA_SETTINGS: more `-c name=value` (scripts/profile loads pg_stat_statements).
    settings="$settings ${PG_EXTRA_SETTINGS:-}"
    ensure_postgres
    PG_DIR=$(mktemp -d /tmp/careforall-pg.XXXXXX)
    PG_PORT=$(free_port)
    if [ "$(id -u)" = "0" ]; then chown postgres "$PG_DIR"; fi
    pg_log "starting PostgreSQL ($("$PG_BIN/postgres" --version | awk '{print $3}')) on 127.0.0.1:$PG_PORT"
    as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1 \
        || { cat "$PG_DIR/initdb.log" >&2; return 1; }
    # The superuser (tests, scripts) without a password; every other role, as the services' own
    # database roles, must give its password, as in production.
    printf '%s\n' "local all all trust" "host all postgres 127.0.0.1/32 trust" "host all all 127.0.0.1/32 scram-sha-256" \
        >"$PG_DIR/data/pg_hba.conf"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=400 $settings" \
        start >/dev/null || { cat "$PG_DIR/server.log" >&2; return 1; }
    PG_MODE=$mode
    PG_ADMIN_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
}

stop_postgres() {
    if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR" ]; then
        if [ -f "$PG_DIR/data/postmaster.pid" ]; then
            as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
        fi
        rm -rf "$PG_DIR"
    fi
}
