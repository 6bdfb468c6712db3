# browser_env.sh — sourced by the tests that open caviar's pages in headless Chromium
# (test_report.sh, test_dashboard.sh): sets chromium, fail, artefacts (created: where the
# screenshots go, $CAVIAR_TEST_ARTEFACTS or the current directory) and work (a fresh temporary
# directory, the caller removes it); exits 77 (skipped) when Chromium is not installed.
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
    echo "SKIP: chromium is not installed (apt-get install chromium; scripts/setup.sh does)"
    exit 77
fi
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v node >/dev/null || fail "node is not installed (it comes with npm, which the build needs)"
artefacts=$(realpath -m "${CAVIAR_TEST_ARTEFACTS:-$PWD}")
mkdir -p "$artefacts"
work=$(mktemp -d)
