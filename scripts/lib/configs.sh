# The deployment files checked by their own tools: promtool (Debian's prometheus package) for the
# Prometheus config and alert rules, docker-compose for the Compose files, and the cross-checks of
# Tests/Deploy/check_configs.py (Kubernetes, Compose, nginx, Grafana), and the Compose secrets
# script run as a process by Tests/Deploy/secrets_init.py. apt-get installs what is missing.
# `check_configs BIN` returns non-zero when any check fails.

ensure_config_tools() {
    local missing=()
    command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
    command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
    python3 -c 'import yaml' >/dev/null 2>&1 || missing+=(python3-yaml)
    if [ "${#missing[@]}" -gt 0 ]; then
        pg_log "installing ${missing[*]} with apt-get"
        apt_install "${missing[@]}"
    fi
    PROMETHEUS_BIN=$(command -v prometheus || echo /usr/bin/prometheus)
}

check_configs() {
    ensure_config_tools
    local status=0
    promtool check config deploy/observability/prometheus.yml || status=1
    promtool check rules deploy/observability/alerts.yml || status=1
    if docker-compose -f docker-compose.yml -f docker-compose.observability.yml config -q; then
        echo "  SUCCESS: docker-compose.yml and docker-compose.observability.yml are valid Compose files"
    else
        status=1
    fi
    # The Kubernetes manifests and the tracing overlay, built by kustomize (kubectl's), when present.
    if command -v kubectl >/dev/null 2>&1; then
        for dir in deploy/k8s deploy/k8s/tracing; do
            if kubectl kustomize "$dir" >/dev/null; then echo "  SUCCESS: kubectl kustomize $dir"; else status=1; fi
        done
    else
        echo "  (kubectl not installed: the kustomizations are checked by check_configs.py only)"
    fi
    python3 Tests/Deploy/check_configs.py || status=1
    python3 Tests/Deploy/secrets_init.py --binary "$1" || status=1
    return $status
}
