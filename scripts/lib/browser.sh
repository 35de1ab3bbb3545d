# The browser test's tools: Debian's chromium and chromium-driver (apt-get, when missing) and
# selenium from PyPI in a virtualenv under .build/tools (once). `ensure_browser` sets BROWSER_PYTHON.
# Needs pg_log from postgres.sh.

SELENIUM_VERSION=4.38.0
BROWSER_VENV=".build/tools/selenium-$SELENIUM_VERSION"

ensure_browser() {
    if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
        pg_log "installing chromium and chromium-driver with apt-get"
        apt_install chromium chromium-driver
    fi
    if [ ! -x "$BROWSER_VENV/bin/python" ] || ! "$BROWSER_VENV/bin/python" -c 'import selenium' 2>/dev/null; then
        pg_log "installing selenium $SELENIUM_VERSION from PyPI into $BROWSER_VENV"
        make_venv "$BROWSER_VENV" "selenium==$SELENIUM_VERSION"
    fi
    BROWSER_PYTHON="$BROWSER_VENV/bin/python"
}
