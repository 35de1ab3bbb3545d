# An OTLP/HTTP trace receiver for scripts (Tests/Tracing/otlp_receiver.py): `start_otlp_receiver`
# installs opentelemetry-proto from PyPI into a virtualenv under .build/tools (once), starts the
# receiver on a free loopback port (arguments are passed on: `--count-only` keeps no span) and sets
# OTLP_URL (exporters' OTEL_EXPORTER_OTLP_ENDPOINT) and OTLP_PYTHON; `stop_otlp_receiver` stops it. Needs pg_log and free_port from postgres.sh.

OTLP_PROTO_VERSION=1.38.0
OTLP_VENV=".build/tools/opentelemetry-proto-$OTLP_PROTO_VERSION"

ensure_otlp_receiver() {
    OTLP_PYTHON="$OTLP_VENV/bin/python"
    if "$OTLP_PYTHON" -c 'import opentelemetry.proto.trace.v1.trace_pb2' >/dev/null 2>&1; then return 0; fi
    pg_log "installing opentelemetry-proto $OTLP_PROTO_VERSION from PyPI into $OTLP_VENV"
    make_venv "$OTLP_VENV" "opentelemetry-proto==$OTLP_PROTO_VERSION"
}

start_otlp_receiver() {
    ensure_otlp_receiver
    local port
    port=$(free_port)
    OTLP_LOG=$(mktemp /tmp/careforall-otlp.XXXXXX)
    "$OTLP_PYTHON" Tests/Tracing/otlp_receiver.py --port "$port" "$@" >"$OTLP_LOG" 2>&1 &
    OTLP_PID=$!
    OTLP_URL="http://127.0.0.1:$port"
    for _ in $(seq 1 100); do
        if python3 -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + '/count', timeout=2)" "$OTLP_URL" 2>/dev/null; then
            pg_log "OTLP receiver on $OTLP_URL"
            return 0
        fi
        if ! kill -0 "$OTLP_PID" 2>/dev/null; then break; fi
        sleep 0.1
    done
    echo "error: the OTLP receiver did not start" >&2
    cat "$OTLP_LOG" >&2
    return 1
}

stop_otlp_receiver() {
    if [ -n "${OTLP_PID:-}" ]; then
        kill "$OTLP_PID" 2>/dev/null || true
        wait "$OTLP_PID" 2>/dev/null || true
        OTLP_PID=
    fi
    if [ -n "${OTLP_LOG:-}" ]; then rm -f "$OTLP_LOG"; fi
}
