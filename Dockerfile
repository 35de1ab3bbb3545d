# syntax=docker/dockerfile:1
# One image runs any role: `careforall serve <role>`. Build one per service with
#   docker build --build-arg ROLE=payment -t careforall/payment-service .
# or run any role from one image by giving the command (docker-compose.yml does).

# ---- build: the Swift toolchain, a release build with the Swift runtime linked in ----
FROM swift:6.2-noble AS build
WORKDIR /src
# Dependencies first, so source edits reuse the resolved and built packages layer.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product careforall --static-swift-stdlib \
    && mkdir -p /out \
    && cp "$(swift build -c release --show-bin-path)/careforall" /out/careforall \
    && strip /out/careforall

# ---- runtime: a slim base, the one binary, a non-root user ----
# With the Swift runtime linked in, the binary needs only libc, libstdc++, libgcc_s, libm and zlib.
FROM ubuntu:24.04 AS runtime
ARG ROLE=gateway
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tzdata curl libstdc++6 zlib1g \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --create-home careforall
COPY --from=build /out/careforall /usr/local/bin/careforall
USER careforall
WORKDIR /app
ENV HOST=0.0.0.0 \
    LOG_FORMAT=json \
    CAREFORALL_ROLE=${ROLE}
# The role's port: 8080 gateway, 3001 campaign, 3002 payment, 3003 pledge, 3004 user.
EXPOSE 8080 3001 3002 3003 3004
ENTRYPOINT ["careforall"]
# `serve $CAREFORALL_ROLE` unless a command is given.
CMD ["serve"]
