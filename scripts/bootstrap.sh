#!/usr/bin/env bash
# Source me: installs what the demo and the tests need on a Debian machine, idempotently, then exports
#   PODKIT_VENV      a virtualenv with the pinned packages of tests/requirements.txt (cached by its hash)
#   PODKIT_STAGE     a copy of this tree at .../ansible_collections/podkit/containers (ansible-test needs that path)
#   ANSIBLE_COLLECTIONS_PATH pointing at the stage, PATH with the venv first.
set -euo pipefail
PODKIT_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PODKIT_SRC

podkit_log() { printf '[podkit] %s\n' "$*" >&2; }

podkit_apt() {
    local wanted=(podman skopeo systemd docker-registry runc busybox-static uidmap slirp4netns openssl apache2-utils curl git rsync make gnupg
                debootstrap)  # debootstrap: the Debian 13 root of scripts/platform-trixie.sh
    local missing=() pkg
    for pkg in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    podkit_log "installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}" >/dev/null
}

podkit_venv() {
    local req="$PODKIT_SRC/tests/requirements.txt" py="${PODKIT_PYTHON:-python3}" hash
    hash="$( (cat "$req"; "$py" -c 'import sys; print(sys.version)') | sha256sum | cut -c1-12)"
    PODKIT_VENV="${PODKIT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/podkit/venv-$hash}"
    mkdir -p "$(dirname "$PODKIT_VENV")"
    # Parallel runs (developers, helpers) must not build the same venv at once.
    exec 9>"$PODKIT_VENV.lock"
    flock 9
    if [ ! -x "$PODKIT_VENV/bin/ansible-test" ] || [ ! -f "$PODKIT_VENV/.complete" ]; then
        podkit_log "creating virtualenv $PODKIT_VENV"
        rm -rf "$PODKIT_VENV"
        "$py" -m venv "$PODKIT_VENV"
        "$PODKIT_VENV/bin/pip" install -q --disable-pip-version-check -r "$req" 2>&1 |
            { grep -v "^WARNING: Location .* is ignored" || true; }
        [ "${PIPESTATUS[0]}" -eq 0 ] || { podkit_log "pip install failed"; return 1; }
        touch "$PODKIT_VENV/.complete"
    fi
    flock -u 9
    exec 9>&-
    export PODKIT_VENV
    export PATH="$PODKIT_VENV/bin:$PATH"
}

# ansible-test bootstraps pip in its sanity venvs with a script it downloads from a host these machines
# cannot reach; it first looks in its cache, so put a stand-in there that uses ensurepip + the package index.
podkit_get_pip() {
    local version
    version="$("$PODKIT_VENV/bin/python" - <<'PY'
import os, re, ansible_test
src = open(os.path.join(os.path.dirname(ansible_test.__file__), '_internal', 'python_requirements.py')).read()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)"
    local cache="$HOME/.ansible/test/cache/get_pip_${version//./_}.py"
    mkdir -p "$(dirname "$cache")"
    cp "$PODKIT_SRC/scripts/get_pip_standin.py" "$cache"
}

# Copy the tree (tracked and untracked-but-not-ignored files) to a path ansible-test and ansible accept.
podkit_stage() {
    PODKIT_STAGE_ROOT="${PODKIT_STAGE_ROOT:-${TMPDIR:-/tmp}/podkit-stage-$(printf '%s' "$PODKIT_SRC" | sha256sum | cut -c1-8)}"
    PODKIT_STAGE="$PODKIT_STAGE_ROOT/ansible_collections/podkit/containers"
    mkdir -p "$PODKIT_STAGE"
    if git -C "$PODKIT_SRC" rev-parse --git-dir >/dev/null 2>&1; then
        (cd "$PODKIT_SRC" && git ls-files -co --exclude-standard -z) |
            rsync -a --delete --from0 --files-from=- "$PODKIT_SRC/" "$PODKIT_STAGE/"
        # --files-from does not delete files that left the tree; prune them.
        (cd "$PODKIT_SRC" && git ls-files -co --exclude-standard) | sort > "$PODKIT_STAGE_ROOT/.wanted"
        (cd "$PODKIT_STAGE" && find . -type f ! -path './tests/output/*' ! -name '*.pyc' | sed 's|^\./||' | sort) |
            comm -23 - "$PODKIT_STAGE_ROOT/.wanted" | (cd "$PODKIT_STAGE" && xargs -r rm -f)
    else
        rsync -a --delete --exclude .git --exclude tests/output "$PODKIT_SRC/" "$PODKIT_STAGE/"
    fi
    export PODKIT_STAGE PODKIT_STAGE_ROOT
    export ANSIBLE_COLLECTIONS_PATH="$PODKIT_STAGE_ROOT"
}

podkit_bootstrap() {
    podkit_apt
    podkit_venv
    podkit_get_pip
    podkit_stage
}
