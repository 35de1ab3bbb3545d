# One image runs any role: `careforall serve <role>` (docker-compose.yml gives each container its
# role in CAREFORALL_ROLE). Build it with
#   docker build -t careforall:local .
# The builder is the official Swift image of the toolchain the code is built and tested with
# (6.3); the versions of every package are the exact ones Package.swift pins, the ones the tests
# ran with. Stages, in the order a builder without BuildKit runs them:
#   runtime-base  Debian bookworm-slim, what the binary needs at run time, a non-root user
#   build         a release build with the Swift runtime linked in
#   runtime       runtime-base and the binary (the default target)
# scripts/containers also builds `--target runtime-base` alone and adds a binary built on the
# host (deploy/containers/prebuilt.Dockerfile), for a quick check that needs no compiler.

# ---- runtime-base: a slim base, a non-root user, the health check ----
FROM debian:bookworm-slim AS runtime-base
# With the Swift runtime linked in, the binary needs only libc, libstdc++, libgcc_s, libm and zlib;
# curl is for the health checks, tzdata and the CA certificates for the binary.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tzdata curl libstdc++6 zlib1g \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --create-home careforall \
    && mkdir -p /var/lib/careforall && chown careforall /var/lib/careforall
# CAREFORALL_DATA_DIR for notification-service's mail files: a new volume mounted here starts
# with this folder's owner, so the service (not root) can write to it.
WORKDIR /app
ENV HOST=0.0.0.0 \
    LOG_FORMAT=json \
    CAREFORALL_ROLE=gateway
# The roles' ports: 8080 gateway, 3001 campaign, 3002 payment, 3003 pledge, 3004 user,
# 3005 notification.
EXPOSE 8080 3001 3002 3003 3004 3005
# Ready means migrated and able to reach its database; the port follows the role.
HEALTHCHECK --interval=5s --timeout=3s --retries=30 CMD \
    case "$CAREFORALL_ROLE" in campaign) p=3001;; payment) p=3002;; pledge) p=3003;; user) p=3004;; notification) p=3005;; *) p=8080;; esac; \
    curl -fsS "http://127.0.0.1:$p/health/ready" >/dev/null
USER careforall
ENTRYPOINT ["careforall"]
# `serve $CAREFORALL_ROLE` unless a command is given.
CMD ["serve"]

# ---- build: the Swift toolchain, a release build with the Swift runtime linked in ----
FROM swift:6.3-bookworm AS build
WORKDIR /src
# The manifest first, so source edits reuse the resolved packages' layer.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product careforall --static-swift-stdlib \
    && mkdir -p /out \
    && cp "$(swift build -c release --show-bin-path)/careforall" /out/careforall \
    && strip /out/careforall

# ---- runtime: the base and the one binary ----
FROM runtime-base AS runtime
# `--build-arg ROLE=payment` makes an image whose default role is payment-service (CI publishes one
# per service); Compose gives the role to each container instead.
ARG ROLE=gateway
ENV CAREFORALL_ROLE=${ROLE}
COPY --from=build /out/careforall /usr/local/bin/careforall
