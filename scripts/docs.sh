#!/usr/bin/env bash
# Builds the HTML module reference (`make docs`): antsibull-docs turns the collection's own documentation into
# RST, Sphinx renders it with warnings as errors. Offline: links to the Ansible docs resolve
# through a local inventory (docs/site/offline_inventory.py), nothing is downloaded.
#   scripts/docs.sh [OUTPUT_DIR]    default build/docs/html (git-ignored)
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
podkit_venv
# Inside scripts/test.sh (tests/integration/test_galaxy.py) the stage exists already and is in use: keep it.
if [ -z "${PODKIT_STAGE:-}" ] || [ ! -d "$PODKIT_STAGE" ]; then podkit_stage; fi
export ANSIBLE_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH:-$PODKIT_STAGE_ROOT}"
out="${1:-$PODKIT_SRC/build/docs/html}"
work="$(mktemp -d "${TMPDIR:-/tmp}/podkit-docs.XXXXXX")"
trap 'rm -rf "$work"' EXIT
chmod 700 "$work"
mkdir -m 700 "$work/rst"
podkit_log "antsibull-docs: RST from the collection's documentation (roles' argument specs too)"
antsibull-docs --config-file "$PODKIT_STAGE/docs/site/antsibull-docs.cfg" collection --use-current --squash-hierarchy \
    --fail-on-error --cleanup everything --dest-dir "$work/rst" podkit.containers
export PODKIT_DOCS_INVENTORY="$work/ansible-objects.inv"
python "$PODKIT_STAGE/docs/site/offline_inventory.py" "$work/rst" "$PODKIT_DOCS_INVENTORY"
podkit_log "sphinx-build -> $out"
rm -rf "$out"
mkdir -p "$out"
sphinx-build -b html -q -W --keep-going -c "$PODKIT_STAGE/docs/site" -d "$work/doctrees" "$work/rst" "$out"
podkit_log "docs: $out/index.html"
