# A real SMTP server for the deployment test: aiosmtpd (PyPI), installed into a virtualenv under
# .build/tools (once), with a self-signed certificate made by openssl, requiring STARTTLS and
# AUTH PLAIN. `start_smtp` starts it on a free loopback port and sets SMTP_MAILDIR (where it keeps
# what it accepts) and NOTIFICATION_SMTP_URL (what services.sh gives notification-service);
# `stop_smtp` stops it. Callers trap EXIT. Needs pg_log and free_port from postgres.sh.

AIOSMTPD_VERSION=1.4.6
AIOSMTPD_VENV=".build/tools/aiosmtpd-$AIOSMTPD_VERSION"

ensure_aiosmtpd() {
    if [ -x "$AIOSMTPD_VENV/bin/python" ] && "$AIOSMTPD_VENV/bin/python" -c 'import aiosmtpd' 2>/dev/null; then return 0; fi
    pg_log "installing aiosmtpd $AIOSMTPD_VERSION from PyPI into $AIOSMTPD_VENV"
    if ! command -v openssl >/dev/null; then
        apt_install openssl
    fi
    make_venv "$AIOSMTPD_VENV" "aiosmtpd==$AIOSMTPD_VERSION"
}

start_smtp() {
    ensure_aiosmtpd
    SMTP_DIR=$(mktemp -d /tmp/careforall-smtp.XXXXXX)
    SMTP_MAILDIR="$SMTP_DIR/maildir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
        -addext subjectAltName=DNS:localhost -keyout "$SMTP_DIR/key.pem" -out "$SMTP_DIR/cert.pem" 2>/dev/null
    local port password
    port=$(free_port)
    password=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
    "$AIOSMTPD_VENV/bin/python" Tests/Mail/smtp_server.py --port "$port" --maildir "$SMTP_MAILDIR" --cert "$SMTP_DIR/cert.pem" \
        --key "$SMTP_DIR/key.pem" --user careforall --password "$password" >"$SMTP_DIR/server.log" 2>&1 &
    SMTP_PID=$!
    for _ in $(seq 1 100); do
        if grep -q ready "$SMTP_DIR/server.log" 2>/dev/null; then break; fi
        sleep 0.1
    done
    if ! grep -q ready "$SMTP_DIR/server.log"; then
        echo "error: the SMTP server did not start" >&2
        cat "$SMTP_DIR/server.log" >&2
        return 1
    fi
    NOTIFICATION_SMTP_URL="smtp://careforall:$password@localhost:$port?starttls=required&ca_file=$SMTP_DIR/cert.pem"
    pg_log "aiosmtpd on localhost:$port (STARTTLS and AUTH PLAIN required), mail kept in $SMTP_MAILDIR"
}

stop_smtp() {
    if [ -n "${SMTP_PID:-}" ]; then kill "$SMTP_PID" 2>/dev/null || true; wait "$SMTP_PID" 2>/dev/null || true; fi
    if [ -n "${SMTP_DIR:-}" ]; then rm -rf "$SMTP_DIR"; fi
    SMTP_PID=
}
