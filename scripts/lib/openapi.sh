# The API documents' tools for scripts: `check_openapi GATEWAY_URL SERVICES ADMIN_EMAIL ADMIN_PASSWORD`
# installs schemathesis and openapi-spec-validator from PyPI into a virtualenv under .build/tools
# (once) and runs Tests/OpenAPI/check_documents.py against the running services. Needs pg_log.

SCHEMATHESIS_VERSION=4.32.5
OPENAPI_VALIDATOR_VERSION=0.9.0
OPENAPI_VENV=".build/tools/schemathesis-$SCHEMATHESIS_VERSION"

ensure_openapi_tools() {
    if [ -x "$OPENAPI_VENV/bin/schemathesis" ] && [ -x "$OPENAPI_VENV/bin/openapi-spec-validator" ]; then return 0; fi
    pg_log "installing schemathesis $SCHEMATHESIS_VERSION and openapi-spec-validator $OPENAPI_VALIDATOR_VERSION from PyPI into $OPENAPI_VENV"
    make_venv "$OPENAPI_VENV" \
        "schemathesis==$SCHEMATHESIS_VERSION" "openapi-spec-validator==$OPENAPI_VALIDATOR_VERSION"
}

check_openapi() {
    ensure_openapi_tools
    python3 Tests/OpenAPI/check_documents.py --gateway "$1" --services "$2" --admin-email "$3" --admin-password "$4" --tools "$OPENAPI_VENV"
}
