# The services as separate processes of the built binary, on the throwaway PostgreSQL (one
# database per service), as containers would run them: `start_services BIN` starts user-,
# campaign-, pledge- and payment-service and the built-in gateway on free loopback ports and sets
# SERVICE_PORTS (role -> port), ADMIN_EMAIL and ADMIN_PASSWORD; `stop_services` stops them.
# Needs start_postgres, as_pg, free_port and pg_log from postgres.sh.

declare -A SERVICE_PORTS
SERVICE_PIDS=()

wait_http() {
    python3 - "$1" "${2:-60}" <<'PY'
import sys, time, urllib.request
url, limit = sys.argv[1], float(sys.argv[2])
deadline = time.time() + limit
while time.time() < deadline:
    try:
        if urllib.request.urlopen(url, timeout=2).status == 200:
            sys.exit(0)
    except Exception:
        time.sleep(0.2)
sys.exit(1)
PY
}

start_services() {
    local bin=$1
    SERVICES_DIR=$(mktemp -d /tmp/careforall-services.XXXXXX)
    local db
    for db in users campaigns pledges payments; do
        PGOPTIONS="-c client_min_messages=warning" as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" postgres
    done
    local role
    for role in user campaign pledge payment gateway; do SERVICE_PORTS[$role]=$(free_port); done
    ADMIN_EMAIL=admin@careforall.test
    ADMIN_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
    export INTERNAL_SIGNING_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
    export STRIPE_WEBHOOK_SECRET="whsec_$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
    export JWT_PRIVATE_KEY="$("$bin" generate-key)"
    export ADMIN_EMAIL ADMIN_PASSWORD LOG_LEVEL=${SERVICES_LOG_LEVEL:-warning}
    export USER_SERVICE_PORT=${SERVICE_PORTS[user]} CAMPAIGN_SERVICE_PORT=${SERVICE_PORTS[campaign]}
    export PLEDGE_SERVICE_PORT=${SERVICE_PORTS[pledge]} PAYMENT_SERVICE_PORT=${SERVICE_PORTS[payment]} GATEWAY_PORT=${SERVICE_PORTS[gateway]}
    export USER_SERVICE_URL="http://127.0.0.1:${SERVICE_PORTS[user]}" CAMPAIGN_SERVICE_URL="http://127.0.0.1:${SERVICE_PORTS[campaign]}"
    export PLEDGE_SERVICE_URL="http://127.0.0.1:${SERVICE_PORTS[pledge]}" PAYMENT_SERVICE_URL="http://127.0.0.1:${SERVICE_PORTS[payment]}"
    local database
    for role in user campaign pledge payment gateway; do
        case $role in
            user) database=users ;; campaign) database=campaigns ;; pledge) database=pledges ;; payment) database=payments ;; gateway) database= ;;
        esac
        DATABASE_URL=${database:+postgres://postgres@127.0.0.1:$PG_PORT/$database} "$bin" serve "$role" >"$SERVICES_DIR/$role.log" 2>&1 &
        SERVICE_PIDS+=($!)
    done
    for role in user campaign pledge payment gateway; do
        if ! wait_http "http://127.0.0.1:${SERVICE_PORTS[$role]}/health/ready" 90; then
            echo "error: $role did not become ready" >&2
            cat "$SERVICES_DIR/$role.log" >&2
            return 1
        fi
    done
    pg_log "services on PostgreSQL as processes: user :${SERVICE_PORTS[user]}, campaign :${SERVICE_PORTS[campaign]}, pledge :${SERVICE_PORTS[pledge]}, payment :${SERVICE_PORTS[payment]}, gateway :${SERVICE_PORTS[gateway]}"
}

stop_services() {
    local pid
    for pid in "${SERVICE_PIDS[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
    for pid in "${SERVICE_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    SERVICE_PIDS=()
    if [ -n "${SERVICES_DIR:-}" ]; then rm -rf "$SERVICES_DIR"; fi
}
