#!/usr/bin/env bash
# Runs the reliability tests (tests/integration/test_faults.py, test_concurrency.py, test_credential_leaks.py) and
# writes the figures of that run into docs/reliability.md (scripts/reliability_docs.py renders them).
#   scripts/reliability.sh              a random seed (printed, and written into the docs)
#   PODKIT_FAULT_SEED=N scripts/reliability.sh   the same trials again; PODKIT_FAULT_TRIALS=N for more or fewer
# Extra arguments go to pytest. The docs are written even when a test fails: the figures say what failed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
figures="$(mktemp -d)/figures.json"
trap 'rm -rf "$(dirname "$figures")"' EXIT
export PODKIT_RELIABILITY_FIGURES="$figures"
status=0
"$here/test.sh" integration -k 'test_faults or test_concurrency or test_credential_leaks' "$@" || status=$?
# test.sh left the venv's python on PATH only in its own shell; bootstrap again here for the renderer.
source "$here/bootstrap.sh"
podkit_venv
python "$here/reliability_docs.py" "$figures" "$here/../docs/reliability.md" --status "$status"
exit "$status"
