#!/usr/bin/env bash
# Regenerates CHANGELOG.md and changelogs/changelog.yaml (`make changelog`) from changelogs/fragments/*.yml and the
# plugins' version_added, for the version in galaxy.yml. Re-running it for the same, unreleased version updates that
# release (new fragments, modules added since). antsibull-changelog reads the plugins with ansible-doc, so it runs in
# the stage (scripts/bootstrap.sh); the results are copied back into the tree.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
podkit_venv
podkit_stage
version="$(python -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["version"])' "$PODKIT_SRC/galaxy.yml")"
cd "$PODKIT_STAGE"
antsibull-changelog lint
antsibull-changelog release --version "$version" --update-existing --reload-plugins
cp CHANGELOG.md "$PODKIT_SRC/CHANGELOG.md"
cp changelogs/changelog.yaml "$PODKIT_SRC/changelogs/changelog.yaml"
podkit_log "CHANGELOG.md and changelogs/changelog.yaml updated for $version"
