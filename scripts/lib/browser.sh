# The browser test's tools: Debian's chromium and chromium-driver (apt-get, when missing) and
# selenium from PyPI in a virtualenv under .build/tools (once). `ensure_browser` sets BROWSER_PYTHON.
# Needs pg_log from postgres.sh.

SELENIUM_VERSION=4.38.0
BROWSER_VENV=".build/tools/selenium-$SELENIUM_VERSION"

ensure_browser() {
    if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
        pg_log "installing chromium and chromium-driver with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq chromium chromium-driver >/dev/null
    fi
    if [ ! -x "$BROWSER_VENV/bin/python" ] || ! "$BROWSER_VENV/bin/python" -c 'import selenium' 2>/dev/null; then
        pg_log "installing selenium $SELENIUM_VERSION from PyPI into $BROWSER_VENV"
        if ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -qq
            apt-get install -y -qq python3-venv >/dev/null
        fi
        rm -rf "$BROWSER_VENV"
        python3 -m venv "$BROWSER_VENV"
        "$BROWSER_VENV/bin/pip" install --quiet --disable-pip-version-check "selenium==$SELENIUM_VERSION"
    fi
    BROWSER_PYTHON="$BROWSER_VENV/bin/python"
}
