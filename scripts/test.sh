#!/usr/bin/env bash
# Runs every test: ansible-test sanity, unit tests, integration tests (real registries, podman, skopeo,
# systemd user manager started by the tests). Installs what it needs first (scripts/bootstrap.sh).
#   scripts/test.sh            everything
#   scripts/test.sh sanity|units|integration [pytest args...]
#   scripts/test.sh trixie [pytest args...]   the podman-facing integration tests on the second platform: a cached
#                            Debian 13 root (podman 5, skopeo 1.18, systemd 257, Python 3.13; scripts/platform-trixie.sh)
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
    podkit_log "integration tests on $(. /etc/os-release; echo "$ID$VERSION_ID") (this machine)"
    python -m pytest -q -p no:cacheprovider --durations=20 tests/integration "$@"
}

# The integration tests that drive podman, skopeo or systemd, run again on Debian 13 (the registry modules are pure
# Python and platform-neutral). Same pinned requirements, in a venv of the root's Python, cached in the root.
TRIXIE_TESTS=(tests/integration/test_container_state.py tests/integration/test_image_pull.py
              tests/integration/test_systemd_generate.py tests/integration/test_container_service.py
              tests/integration/test_signatures.py tests/integration/test_demo.py)
run_trixie() {
    podkit_log "integration tests on debian13 (the Debian 13 root)"
    source "$PODKIT_SRC/scripts/platform-trixie.sh"
    local args=("$@")
    [ ${#args[@]} -gt 0 ] && [[ "${args[0]}" != -* ]] || args=("${TRIXIE_TESTS[@]}" "${args[@]}")
    # The stage is bound at its own path, so ANSIBLE_COLLECTIONS_PATH and the tests' paths are the same inside.
    PODKIT_TRIXIE_BIND="$PODKIT_STAGE_ROOT" podkit_trixie_run env \
        PODKIT_STAGE="$PODKIT_STAGE" ANSIBLE_COLLECTIONS_PATH="$PODKIT_STAGE_ROOT" \
        bash -c 'set -euo pipefail; cd "$PODKIT_STAGE"; source scripts/bootstrap.sh; podkit_venv
                 exec python -m pytest -q -p no:cacheprovider --durations=10 "$@"' podkit-trixie "${args[@]}"
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
    trixie) run_trixie "$@" ;;
    lint) run_lint "$@" ;;
    all)
        run_sanity || status=1
        run_lint || status=1
        run_units || status=1
        run_integration || status=1
        # After the first platform, not beside it: both share 2 cores and the tests' timeouts assume a machine
        # that is not doing everything twice at once.
        run_trixie || status=1
        ;;
    *) echo "usage: $0 [all|sanity|units|integration|trixie|lint] [args]" >&2; exit 2 ;;
esac
exit $status
