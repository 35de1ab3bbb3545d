# deploy/nginx/nginx.conf run by Debian's nginx (apt-get, when missing) in front of the services
# started by services.sh. The config is used as it is, but for the upstream addresses and the
# listen port (a free loopback port, not 8080, which a developer's `careforall` may hold). `start_nginx` sets NGINX_URL; `stop_nginx` stops it.

start_nginx() {
    if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
        pg_log "installing nginx with apt-get"
        apt_install nginx-light 2>/dev/null || apt_install nginx
    fi
    local nginx_bin
    nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
    NGINX_DIR=$(mktemp -d /tmp/careforall-nginx.XXXXXX)
    local port
    port=$(free_port)
    sed -e "s/server user-service:3004;/server 127.0.0.1:${SERVICE_PORTS[user]};/" \
        -e "s/server campaign-service:3001;/server 127.0.0.1:${SERVICE_PORTS[campaign]};/" \
        -e "s/server pledge-service:3003;/server 127.0.0.1:${SERVICE_PORTS[pledge]};/" \
        -e "s/server payment-service:3002;/server 127.0.0.1:${SERVICE_PORTS[payment]};/" \
        -e "s/server notification-service:3005;/server 127.0.0.1:${SERVICE_PORTS[notification]};/" \
        -e "s/server gateway:8080;/server 127.0.0.1:${SERVICE_PORTS[gateway]};/" \
        -e "s/listen 8080;/listen 127.0.0.1:$port;/" \
        deploy/nginx/nginx.conf >"$NGINX_DIR/nginx.conf"
    # Only those lines may differ from the repository's file.
    local changed
    changed=$(diff deploy/nginx/nginx.conf "$NGINX_DIR/nginx.conf" | grep -c '^>' || true)
    if [ "$changed" -ne 7 ]; then
        echo "error: adapting nginx.conf changed $changed lines, expected 7 (6 upstreams and the listen port)" >&2
        return 1
    fi
    "$nginx_bin" -t -q -c "$NGINX_DIR/nginx.conf" -p "$NGINX_DIR" -e stderr
    "$nginx_bin" -c "$NGINX_DIR/nginx.conf" -p "$NGINX_DIR" -e stderr -g 'daemon off;' >"$NGINX_DIR/access.log" 2>"$NGINX_DIR/error.log" &
    NGINX_PID=$!
    NGINX_URL="http://127.0.0.1:$port"
    if ! wait_http "$NGINX_URL/nginx-health" 30; then
        cat "$NGINX_DIR/error.log" >&2
        return 1
    fi
    pg_log "nginx $("$nginx_bin" -v 2>&1 | sed 's/.*nginx\///') with deploy/nginx/nginx.conf on $NGINX_URL"
}

stop_nginx() {
    if [ -n "${NGINX_PID:-}" ]; then
        kill -QUIT "$NGINX_PID" 2>/dev/null || true
        wait "$NGINX_PID" 2>/dev/null || true
        NGINX_PID=
    fi
    if [ -n "${NGINX_DIR:-}" ]; then rm -rf "$NGINX_DIR"; fi
}
