# A container engine for scripts/containers on a machine like ours (Debian 12, root, no registry):
# Debian's Docker engine (docker.io: dockerd, containerd, runc) started privately, so it never
# touches an engine the machine already runs, and Debian's docker-compose. Base images cannot be
# pulled, so the upstream images the Dockerfile and the Compose files name are made here, under
# those names, in the private engine only:
#   debian:bookworm-slim     debootstrap --variant=minbase from the mirror apt already uses, with
#                            the host's CA certificates
#   swift:6.3-bookworm       deploy/containers/stand-ins/swift (the host's toolchain and package mirror)
#   postgres:15-alpine, nginx:1.27-alpine, prom/prometheus:v2.53.0, prom/node-exporter:v1.8.1,
#   jaegertracing/jaeger:2.8.0
#                            deploy/containers/stand-ins/*, built from Debian's packages, each
#                            honouring what the Compose files use of the upstream image
# They are test doubles: on a machine with a registry the same Compose files pull the real ones.
#
# `start_engine` sets DOCKER_HOST; `stop_engine` stops the daemon (the images stay in
# $CONTAINERS_ROOT for the next run). `make_stand_ins [swift]` makes what is missing.

CONTAINERS_ROOT=${CONTAINERS_ROOT:-/var/lib/careforall-containers}
CONTAINERS_RUN=/run/careforall-containers
ENGINE_SOCKET=unix://$CONTAINERS_RUN/docker.sock

ensure_engine() {
    local missing=()
    command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
    command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
    command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
    command -v runc >/dev/null 2>&1 || missing+=(runc)
    command -v strip >/dev/null 2>&1 || missing+=(binutils)
    if [ "${#missing[@]}" -gt 0 ]; then
        pg_log "installing ${missing[*]} with apt-get"
        apt_install "${missing[@]}"
    fi
}

start_engine() {
    ensure_engine
    mkdir -p "$CONTAINERS_ROOT" "$CONTAINERS_RUN"
    export DOCKER_HOST=$ENGINE_SOCKET
    if docker info >/dev/null 2>&1; then
        return 0  # already running (scripts/containers --setup): left running afterwards too
    fi
    ENGINE_STARTED_HERE=1
    # Compose's `rslave` bind mounts (node-exporter's view of the host) need the host's root to be
    # a shared mount, as systemd makes it at boot; without systemd it is private.
    if [ "$(findmnt -no PROPAGATION / 2>/dev/null)" = private ]; then
        mount --make-rshared /
    fi
    # cgroupfs (no systemd here), runc, overlay2; the daemon's own data root, exec root and socket.
    dockerd --data-root "$CONTAINERS_ROOT/docker" --exec-root "$CONTAINERS_RUN/exec" \
        --pidfile "$CONTAINERS_RUN/dockerd.pid" -H "$ENGINE_SOCKET" \
        --exec-opt native.cgroupdriver=cgroupfs --default-runtime runc --storage-driver overlay2 \
        >"$CONTAINERS_ROOT/dockerd.log" 2>&1 &
    local i
    for i in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        sleep 0.5
    done
    if ! docker info >/dev/null 2>&1; then
        echo "error: dockerd did not start; its log:" >&2
        tail -20 "$CONTAINERS_ROOT/dockerd.log" >&2
        return 1
    fi
    pg_log "Docker engine $(docker version -f '{{.Server.Version}}') (dockerd, runc, overlay2) on $ENGINE_SOCKET"
}

# Stops the engine this run started (`--stop` passes `always` for one started by --setup).
stop_engine() {
    [ "${ENGINE_STARTED_HERE:-0}" = 1 ] || [ "${1:-}" = always ] || return 0
    local pid i
    pid=$(cat "$CONTAINERS_RUN/dockerd.pid" 2>/dev/null || true)
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] || { rm -f "$CONTAINERS_RUN/dockerd.pid"; return 0; }
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 40); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    rm -f "$CONTAINERS_RUN/dockerd.pid"
}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# The Debian mirror apt uses on this machine: the first URI of a bookworm suite that is not the
# security archive, in deb822 or one-line sources (options in brackets skipped).
debian_mirror() {
    local uri
    uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
        /^URIs:/ {uri = $2} /^Suites:/ && / bookworm( |$)/ && uri !~ /security/ {print uri; exit}')
    [ -n "$uri" ] || uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '
        $1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) {if ($i !~ /security/ && $(i + 1) == "bookworm") {print $i; exit}; break}}')
    echo "${uri:-http://deb.debian.org/debian}"
}

make_debian_base() {
    have_image debian:bookworm-slim && return 0
    local rootfs mirror
    mirror=$(debian_mirror)
    rootfs=$(mktemp -d /tmp/careforall-rootfs.XXXXXX)
    pg_log "making debian:bookworm-slim: debootstrap --variant=minbase bookworm from $mirror"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$CONTAINERS_ROOT/debootstrap.log" 2>&1 || {
        tail -20 "$CONTAINERS_ROOT/debootstrap.log" >&2
        rm -rf "$rootfs"
        return 1
    }
    # Trust what the host trusts (an HTTPS proxy's CA among them): ca-certificates, once installed
    # in an image, adds every certificate under /usr/local/share/ca-certificates.
    mkdir -p "$rootfs/usr/local/share/ca-certificates" "$rootfs/etc/ssl/certs"
    cp -a /usr/local/share/ca-certificates/. "$rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
    cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt" 2>/dev/null || true
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*
    tar -C "$rootfs" -c . | docker import \
        -c 'CMD ["bash"]' -c 'LABEL org.careforall.stand-in="debian:bookworm-slim (debootstrap minbase)"' \
        - debian:bookworm-slim >/dev/null
    rm -rf "$rootfs"
}

# The host's Swift toolchain and package mirror as an image, for the swift stand-in to copy from
# (tools a build does not run are left out: the debugger, the language server, docc).
make_swift_toolchain() {
    have_image careforall-stand-in/swift-toolchain && return 0
    local swift_root
    swift_root=$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")")
    if [ "$swift_root" != /opt/swift ]; then
        echo "error: the swift stand-in expects the toolchain in /opt/swift (found $swift_root)" >&2
        return 1
    fi
    pg_log "importing the host's Swift toolchain ($(swift --version 2>/dev/null | head -n 1)) and /opt/swift-packages"
    tar -C / -c --exclude='opt/swift/usr/bin/lldb*' --exclude='opt/swift/usr/lib/liblldb*' \
        --exclude='opt/swift/usr/bin/sourcekit-lsp' --exclude='opt/swift/usr/lib/libsourcekitdInProc.so' \
        --exclude='opt/swift/usr/bin/docc' --exclude='opt/swift/usr/bin/clangd' \
        opt/swift opt/swift-packages | docker import - careforall-stand-in/swift-toolchain >/dev/null
}

# Makes the named stand-ins (postgres, nginx, prometheus, node-exporter, jaeger, swift) that are not there yet,
# and debian:bookworm-slim, which they and the Dockerfile start from. swift is the builder stage's
# base, needed only to compile inside the image.
make_stand_ins() {
    make_debian_base
    local name tag
    for name in "$@"; do
        [ "$name" = swift ] && continue
        local dockerfile=deploy/containers/stand-ins/$name/Dockerfile sources digest
        tag=$(sed -n 's/^# stand-in for: //p' "$dockerfile")
        # Made again when its Dockerfile or a file it copies changed.
        sources=$(sed -n 's/^COPY \([^-][^ ]*\) .*/\1/p' "$dockerfile")
        digest=$(cat "$dockerfile" $sources | sha256sum | cut -c1-16)
        [ "$(docker image inspect -f '{{index .Config.Labels "org.careforall.stand-in.digest"}}' "$tag" 2>/dev/null)" = "$digest" ] && continue
        pg_log "making $tag (deploy/containers/stand-ins/$name)"
        docker build -q -t "$tag" --label "org.careforall.stand-in.digest=$digest" -f "$dockerfile" . >/dev/null
    done
    if [[ " $* " == *" swift "* ]] && ! have_image swift:6.3-bookworm; then
        make_swift_toolchain
        local context
        context=$(mktemp -d /tmp/careforall-swift.XXXXXX)
        cp deploy/containers/stand-ins/swift/Dockerfile "$context/"
        { git config --system --list 2>/dev/null || true; } | sed -n 's/^url\.\(.*\)\.insteadof=\(.*\)$/[url "\1"]\n\tinsteadOf = \2/p' >"$context/gitconfig"
        pg_log "making swift:6.3-bookworm (deploy/containers/stand-ins/swift)"
        docker build -q -t swift:6.3-bookworm "$context" >/dev/null
        rm -rf "$context"
    fi
}

# Package.resolved (what `swift build` resolved and the tests ran with) agrees with the exact
# versions in Package.swift, which an image build resolves from.
check_pins() {
    [ -f Package.resolved ] || swift package resolve >/dev/null 2>&1
    python3 - <<'PY'
import json, re, sys
resolved = {p["identity"]: p["state"].get("version") for p in json.load(open("Package.resolved"))["pins"]}
manifest = {}
for url, version in re.findall(r'\.package\(url: "([^"]+)", exact: "([^"]+)"', open("Package.swift").read()):
    manifest[url.rstrip("/").split("/")[-1].removesuffix(".git").lower()] = version
wrong = [f"{name}: resolved {version}, Package.swift {manifest.get(name)}" for name, version in resolved.items() if manifest.get(name) != version]
if wrong:
    print("error: Package.swift does not pin what was resolved:\n  " + "\n  ".join(wrong), file=sys.stderr)
    sys.exit(1)
print(f"  SUCCESS: Package.swift pins all {len(resolved)} resolved packages at the tested versions")
PY
}
