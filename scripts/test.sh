#!/usr/bin/env bash
# Runs every test: ansible-test sanity, unit tests, integration tests (real registries, podman, skopeo,
# systemd user manager started by the tests). Installs what it needs first (scripts/bootstrap.sh).
#   scripts/test.sh            everything
#   scripts/test.sh sanity|units|integration [pytest args...]
#   scripts/test.sh lint     ansible-lint (production profile, offline) on roles/ and playbooks/, antsibull-changelog lint
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
podkit_bootstrap
cd "$PODKIT_STAGE"

what="${1:-all}"
[ $# -gt 0 ] && shift
status=0

run_sanity() {
    podkit_log "ansible-test sanity"
    ansible-test sanity --venv --python "$("$PODKIT_VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
        "$@"
}
run_units() {
    podkit_log "unit tests"
    python -m pytest -q -p no:cacheprovider tests/unit "$@"
}
run_integration() {
    podkit_log "integration tests"
    python -m pytest -q -p no:cacheprovider --durations=20 tests/integration "$@"
}

run_lint() {
    podkit_log "ansible-lint (offline) and antsibull-changelog lint"
    local rc=0 targets=(playbooks)
    [ -d roles ] && [ -n "$(ls -A roles)" ] && targets+=(roles)
    # --offline: never install collections or roles from Galaxy; this collection comes from the stage.
    ansible-lint --offline --nocolor -c .ansible-lint "${targets[@]}" "$@" || rc=1
    antsibull-changelog lint || rc=1
    [ ! -f changelogs/changelog.yaml ] || antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml || rc=1
    return $rc
}

case "$what" in
    sanity) run_sanity "$@" ;;
    units) run_units "$@" ;;
    integration) run_integration "$@" ;;
    lint) run_lint "$@" ;;
    all)
        run_sanity || status=1
        run_lint || status=1
        run_units || status=1
        run_integration || status=1
        ;;
    *) echo "usage: $0 [all|sanity|units|integration|lint] [args]" >&2; exit 2 ;;
esac
exit $status
