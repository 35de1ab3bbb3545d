# The image from a binary built on the host, for the quick container check (scripts/containers
# without --full, which CI runs): the Dockerfile's runtime-base stage (built with
# `--target runtime-base`), the host's `careforall` and the Swift runtime libraries it links
# (a host build links the toolchain's shared runtime; the Dockerfile's release build links it in).
# The context is a folder scripts/containers fills: careforall and swift-runtime/.
FROM careforall-runtime-base:local
COPY swift-runtime/ /usr/local/lib/careforall/
COPY careforall /usr/local/bin/careforall
ENV LD_LIBRARY_PATH=/usr/local/lib/careforall
