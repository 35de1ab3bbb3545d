# The services as separate processes of the built binary, on the throwaway PostgreSQL, as containers
# would run them: `start_services BIN` makes one database per service, each owned by a role of its
# own (deploy/postgres/init-databases.sh, the script Compose runs), starts user-, campaign-, pledge-,
# payment- and notification-service and the built-in gateway on free loopback ports, each given only its own
# secrets (as deploy/secrets/init-secrets.sh shares them), and sets SERVICE_PORTS (role -> port),
# ADMIN_EMAIL, ADMIN_PASSWORD, <ROLE>_SERVICE_SIGNING_SECRET and <ROLE>_DB_PASSWORD;
# `stop_services` stops them. Needs start_postgres, as_pg, free_port and pg_log from postgres.sh.

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
    local db role
    for role in USER CAMPAIGN PLEDGE PAYMENT NOTIFICATION; do
        export "${role}_SERVICE_SIGNING_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
        export "${role}_DB_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
    done
    for db in users campaigns pledges payments notifications; do
        PGOPTIONS="-c client_min_messages=warning" as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" postgres
    done
    for role in user campaign pledge payment notification; do
        PGOPTIONS="-c client_min_messages=warning" as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -q -c "DROP ROLE IF EXISTS ${role}_service" postgres
    done
    printf '%s\n' "USER_DB_PASSWORD=$USER_DB_PASSWORD" "CAMPAIGN_DB_PASSWORD=$CAMPAIGN_DB_PASSWORD" \
        "PLEDGE_DB_PASSWORD=$PLEDGE_DB_PASSWORD" "PAYMENT_DB_PASSWORD=$PAYMENT_DB_PASSWORD" \
        "NOTIFICATION_DB_PASSWORD=$NOTIFICATION_DB_PASSWORD" >"$SERVICES_DIR/roles.env"
    CAREFORALL_ROLES_FILE="$SERVICES_DIR/roles.env" POSTGRES_USER=postgres PGHOST=127.0.0.1 PGPORT=$PG_PORT \
        PATH="$PG_BIN:$PATH" sh deploy/postgres/init-databases.sh
    for role in user campaign pledge payment notification gateway; do SERVICE_PORTS[$role]=$(free_port); done
    ADMIN_EMAIL=admin@careforall.test
    ADMIN_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
    STRIPE_WEBHOOK_SECRET="whsec_$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
    JWT_PRIVATE_KEY="$("$bin" generate-key)"
    export ADMIN_EMAIL LOG_LEVEL=${SERVICES_LOG_LEVEL:-warning}
    export USER_SERVICE_PORT=${SERVICE_PORTS[user]} CAMPAIGN_SERVICE_PORT=${SERVICE_PORTS[campaign]}
    export PLEDGE_SERVICE_PORT=${SERVICE_PORTS[pledge]} PAYMENT_SERVICE_PORT=${SERVICE_PORTS[payment]} GATEWAY_PORT=${SERVICE_PORTS[gateway]}
    export NOTIFICATION_SERVICE_PORT=${SERVICE_PORTS[notification]} NOTIFICATION_SERVICE_URL="http://127.0.0.1:${SERVICE_PORTS[notification]}"
    # Mail goes to .eml files in the services' folder unless a test gives SMTP_URL to notification-service.
    export CAREFORALL_DATA_DIR="$SERVICES_DIR/data"
    export USER_SERVICE_URL="http://127.0.0.1:${SERVICE_PORTS[user]}" CAMPAIGN_SERVICE_URL="http://127.0.0.1:${SERVICE_PORTS[campaign]}"
    export PLEDGE_SERVICE_URL="http://127.0.0.1:${SERVICE_PORTS[pledge]}" PAYMENT_SERVICE_URL="http://127.0.0.1:${SERVICE_PORTS[payment]}"
    for role in user campaign pledge payment notification gateway; do launch_role "$bin" "$role" "${SERVICE_PORTS[$role]}" "$role"; done
    for role in user campaign pledge payment notification gateway; do
        if ! wait_http "http://127.0.0.1:${SERVICE_PORTS[$role]}/health/ready" 90; then
            echo "error: $role did not become ready" >&2
            cat "$SERVICES_DIR/$role.log" >&2
            return 1
        fi
    done
    pg_log "services on PostgreSQL as processes: user :${SERVICE_PORTS[user]}, campaign :${SERVICE_PORTS[campaign]}, pledge :${SERVICE_PORTS[pledge]}, payment :${SERVICE_PORTS[payment]}, notification :${SERVICE_PORTS[notification]}, gateway :${SERVICE_PORTS[gateway]}"
}

# Sets SHARE to the environment `role` is given: its own secrets and its database role's URL.
role_share() {
    case $1 in
        user) SHARE=(USER_SERVICE_SIGNING_SECRET="$USER_SERVICE_SIGNING_SECRET" JWT_PRIVATE_KEY="$JWT_PRIVATE_KEY"
                     ADMIN_PASSWORD="$ADMIN_PASSWORD" DATABASE_URL="postgres://user_service:$USER_DB_PASSWORD@127.0.0.1:$PG_PORT/users") ;;
        campaign) SHARE=(CAMPAIGN_SERVICE_SIGNING_SECRET="$CAMPAIGN_SERVICE_SIGNING_SECRET" USER_SERVICE_SIGNING_SECRET="$USER_SERVICE_SIGNING_SECRET"
                         NOTIFICATION_SERVICE_SIGNING_SECRET="$NOTIFICATION_SERVICE_SIGNING_SECRET"
                         PLEDGE_SERVICE_SIGNING_SECRET="$PLEDGE_SERVICE_SIGNING_SECRET" PAYMENT_SERVICE_SIGNING_SECRET="$PAYMENT_SERVICE_SIGNING_SECRET"
                         DATABASE_URL="postgres://campaign_service:$CAMPAIGN_DB_PASSWORD@127.0.0.1:$PG_PORT/campaigns") ;;
        pledge) SHARE=(PLEDGE_SERVICE_SIGNING_SECRET="$PLEDGE_SERVICE_SIGNING_SECRET" CAMPAIGN_SERVICE_SIGNING_SECRET="$CAMPAIGN_SERVICE_SIGNING_SECRET"
                       USER_SERVICE_SIGNING_SECRET="$USER_SERVICE_SIGNING_SECRET" NOTIFICATION_SERVICE_SIGNING_SECRET="$NOTIFICATION_SERVICE_SIGNING_SECRET"
                       DATABASE_URL="postgres://pledge_service:$PLEDGE_DB_PASSWORD@127.0.0.1:$PG_PORT/pledges") ;;
        notification) SHARE=(NOTIFICATION_SERVICE_SIGNING_SECRET="$NOTIFICATION_SERVICE_SIGNING_SECRET" USER_SERVICE_SIGNING_SECRET="$USER_SERVICE_SIGNING_SECRET"
                             DATABASE_URL="postgres://notification_service:$NOTIFICATION_DB_PASSWORD@127.0.0.1:$PG_PORT/notifications"
                             ${NOTIFICATION_SMTP_URL:+SMTP_URL="$NOTIFICATION_SMTP_URL"}) ;;
        payment) SHARE=(PAYMENT_SERVICE_SIGNING_SECRET="$PAYMENT_SERVICE_SIGNING_SECRET"
                        PLEDGE_SERVICE_SIGNING_SECRET="$PLEDGE_SERVICE_SIGNING_SECRET" CAMPAIGN_SERVICE_SIGNING_SECRET="$CAMPAIGN_SERVICE_SIGNING_SECRET"
                        USER_SERVICE_SIGNING_SECRET="$USER_SERVICE_SIGNING_SECRET" STRIPE_WEBHOOK_SECRET="$STRIPE_WEBHOOK_SECRET"
                        DATABASE_URL="postgres://payment_service:$PAYMENT_DB_PASSWORD@127.0.0.1:$PG_PORT/payments") ;;
        gateway) SHARE=() ;;
    esac
}

# Starts one process of `role` on `port` with its share and no other secret; its log is NAME.log.
# NAME.launch (in the private SERVICES_DIR) starts it again the same way, and NAME.pid names the
# process: scripts/chaos kills and restarts services with them.
launch_role() {
    local bin=$1 role=$2 port=$3 name=$4 port_key
    role_share "$role"
    port_key=$(echo "$role" | tr a-z A-Z)_SERVICE_PORT
    [ "$role" = gateway ] && port_key=GATEWAY_PORT
    local command=(env -u USER_SERVICE_SIGNING_SECRET -u CAMPAIGN_SERVICE_SIGNING_SECRET -u PLEDGE_SERVICE_SIGNING_SECRET -u PAYMENT_SERVICE_SIGNING_SECRET
        -u NOTIFICATION_SERVICE_SIGNING_SECRET -u INTERNAL_SIGNING_SECRET -u USER_DB_PASSWORD -u CAMPAIGN_DB_PASSWORD -u PLEDGE_DB_PASSWORD
        -u PAYMENT_DB_PASSWORD -u NOTIFICATION_DB_PASSWORD -u SMTP_URL
        "${SHARE[@]}" "$port_key=$port" "$bin" serve "$role")
    (umask 077; printf 'exec' >"$SERVICES_DIR/$name.launch"; printf ' %q' "${command[@]}" >>"$SERVICES_DIR/$name.launch"; echo >>"$SERVICES_DIR/$name.launch")
    "${command[@]}" >"$SERVICES_DIR/$name.log" 2>&1 &
    SERVICE_PIDS+=($!)
    echo $! >"$SERVICES_DIR/$name.pid"
}

# Another replica of `role` (its relays share the outbox with the first); prints nothing, waits until ready.
start_replica() {
    local bin=$1 role=$2 port
    port=$(free_port)
    launch_role "$bin" "$role" "$port" "$role-replica-$port"
    wait_http "http://127.0.0.1:$port/health/ready" 90
}

stop_services() {
    local pid file pids=("${SERVICE_PIDS[@]}")
    # Processes started again from their launch file (scripts/chaos) are not this shell's
    # children: they are found by their pid file.
    if [ -n "${SERVICES_DIR:-}" ]; then
        for file in "$SERVICES_DIR"/*.pid; do
            [ -f "$file" ] || continue
            pid=$(cat "$file")
            case " ${pids[*]} " in *" $pid "*) ;; *) pids+=("$pid") ;; esac
        done
    fi
    for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
    # A service whose shutdown hangs is killed after 15 s, so a run never waits on it for good.
    for pid in "${pids[@]}"; do
        for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    SERVICE_PIDS=()
    if [ -n "${SERVICES_DIR:-}" ]; then rm -rf "$SERVICES_DIR"; fi
}
