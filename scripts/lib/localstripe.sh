# localstripe (a Stripe-compatible fake server, from PyPI) for scripts: `start_localstripe`
# installs it into a virtualenv under .build/tools (once; apt-get adds python3-venv if needed),
# starts it on a free loopback port with an empty store and sets LOCALSTRIPE_URL;
# `stop_localstripe` stops it. Callers trap EXIT. Needs pg_log and free_port from postgres.sh.

LOCALSTRIPE_VERSION=1.15.10
LOCALSTRIPE_VENV=".build/tools/localstripe-$LOCALSTRIPE_VERSION"

ensure_localstripe() {
    if [ -x "$LOCALSTRIPE_VENV/bin/localstripe" ]; then return 0; fi
    pg_log "installing localstripe $LOCALSTRIPE_VERSION from PyPI into $LOCALSTRIPE_VENV"
    make_venv "$LOCALSTRIPE_VENV" "localstripe==$LOCALSTRIPE_VERSION"
}

start_localstripe() {
    ensure_localstripe
    local port
    port=$(free_port)
    LOCALSTRIPE_LOG=$(mktemp /tmp/careforall-localstripe.XXXXXX)
    "$LOCALSTRIPE_VENV/bin/localstripe" --port "$port" --from-scratch >"$LOCALSTRIPE_LOG" 2>&1 &
    LOCALSTRIPE_PID=$!
    LOCALSTRIPE_URL="http://127.0.0.1:$port"
    for _ in $(seq 1 100); do
        if python3 - "$LOCALSTRIPE_URL" <<'PY' 2>/dev/null; then
import sys, urllib.request
request = urllib.request.Request(sys.argv[1] + "/v1/payment_intents?limit=1", headers={"Authorization": "Bearer sk_test_probe"})
urllib.request.urlopen(request, timeout=2)
PY
            pg_log "localstripe $LOCALSTRIPE_VERSION on $LOCALSTRIPE_URL"
            return 0
        fi
        if ! kill -0 "$LOCALSTRIPE_PID" 2>/dev/null; then break; fi
        sleep 0.2
    done
    echo "error: localstripe did not start" >&2
    cat "$LOCALSTRIPE_LOG" >&2
    return 1
}

stop_localstripe() {
    if [ -n "${LOCALSTRIPE_PID:-}" ]; then
        kill "$LOCALSTRIPE_PID" 2>/dev/null || true
        wait "$LOCALSTRIPE_PID" 2>/dev/null || true
        LOCALSTRIPE_PID=
    fi
    if [ -n "${LOCALSTRIPE_LOG:-}" ]; then rm -f "$LOCALSTRIPE_LOG"; fi
}
