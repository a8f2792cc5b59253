#!/usr/bin/env bash
# The second test platform: a Debian 13 (trixie) root with podman 5, skopeo with sigstore, systemd 257 and
# Python 3.13, built once with debootstrap from the Debian mirror this machine's apt sources name, and cached under
# ${XDG_CACHE_HOME:-~/.cache}/podkit/trixie-KEY (KEY: a hash of the package list and of the recipe below).
#
# Source me for the functions, or run me:
#   scripts/platform-trixie.sh root          build the root if needed, print its path
#   scripts/platform-trixie.sh run CMD...    run CMD in the root (as podkit_trixie_run)
#
#   podkit_trixie_root         build or reuse the cached root; prints its path (the build is locked: parallel runs wait)
#   podkit_trixie_run CMD...   run CMD as root in the root, in a private mount namespace: the root bound onto a second
#                              path (podman's storage needs / to be a mount point), /proc bound, /sys and /dev bound
#                              recursively (systemd --user needs the cgroup hierarchy), tmpfs on /run and /tmp, the
#                              machine's CA bundle, pip.conf and resolv.conf copied in; all unmounted in reverse order
#                              when CMD ends, whatever its status. CMD gets a clean environment (HOME=/root, PATH,
#                              LANG, PODMAN_IGNORE_CGROUPSV1_WARNING=1); pass more with `env VAR=... CMD`.
#   PODKIT_TRIXIE_BIND         space-separated host paths bound at the same path inside (e.g. the staged tree)
#   PODKIT_TRIXIE_MIRROR       the Debian mirror (default: the first one named by /etc/apt/sources.list*)
set -euo pipefail

# Bump when the recipe below changes in a way the package list does not show: the key changes and the root is rebuilt.
PODKIT_TRIXIE_RECIPE=1
# What the podman-facing tests use in the root: the engine (nftables: netavark calls nft), the user manager, the tools
# the tests call (htpasswd, openssl, gpg, curl, ps) and Python for the venv. The registries are docker-registry 2.8
# from this package list too, so the test code starts them the same way on both platforms.
PODKIT_TRIXIE_PACKAGES=(podman skopeo systemd dbus-user-session nftables runc uidmap passt slirp4netns busybox-static
                        docker-registry python3 python3-venv ca-certificates openssl apache2-utils curl gnupg git rsync
                        make procps)
# A bridge and subnet of its own: both platforms share the machine's network namespace, and the host's podman owns
# podman0 / 10.88.0.0/16.
PODKIT_TRIXIE_NETWORK='{"name": "podman", "id": "2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9",
  "driver": "bridge", "network_interface": "podkit13", "created": "2026-01-01T00:00:00Z",
  "subnets": [{"subnet": "10.213.0.0/16", "gateway": "10.213.0.1"}], "ipv6_enabled": false, "internal": false,
  "dns_enabled": false, "ipam_options": {"driver": "host-local"}}'

_podkit_trixie_log() { printf '[podkit trixie] %s\n' "$*" >&2; }

podkit_trixie_cache() { printf '%s\n' "${XDG_CACHE_HOME:-$HOME/.cache}/podkit"; }

podkit_trixie_key() {
    printf '%s\n' "$PODKIT_TRIXIE_RECIPE" "${PODKIT_TRIXIE_PACKAGES[@]}" "$PODKIT_TRIXIE_NETWORK" | sha256sum | cut -c1-12
}

# The Debian mirror of this machine's apt sources (one-line and deb822 formats), security archives left out.
podkit_trixie_mirror() {
    if [ -n "${PODKIT_TRIXIE_MIRROR:-}" ]; then printf '%s\n' "$PODKIT_TRIXIE_MIRROR"; return; fi
    local files=() f uri
    [ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
    for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do [ -f "$f" ] && files+=("$f"); done
    uri="$(awk '
        /^[[:space:]]*#/ { next }
        $1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/ && $i !~ /=/) { print $i; break } ; next }
        tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }
    ' "${files[@]}" | grep -E '^https?://[^ ]+/debian/?$' | head -n1 || true)"
    if [ -z "$uri" ]; then
        _podkit_trixie_log "no Debian mirror in /etc/apt/sources.list*: set PODKIT_TRIXIE_MIRROR"
        return 1
    fi
    printf '%s\n' "${uri%/}"
}

# Runs "$@" in ROOT with the mounts described above; the mounts live in a private mount namespace, so nothing is
# left mounted on the machine even if this is killed, and the trap unmounts them in reverse order on a normal end.
_podkit_trixie_inner() {
    set -euo pipefail
    local root="$1" path
    shift
    # Globals, not locals: the EXIT trap runs after this function has returned.
    _podkit_trixie_mounted=()
    _podkit_trixie_mnt="$(mktemp -d "${TMPDIR:-/tmp}/podkit-trixie-mnt.XXXXXX")"
    _podkit_trixie_umount() {
        local i
        for ((i = ${#_podkit_trixie_mounted[@]} - 1; i >= 0; i--)); do
            umount "${_podkit_trixie_mounted[i]}" 2>/dev/null || umount -l "${_podkit_trixie_mounted[i]}" 2>/dev/null || true
        done
        rmdir "$_podkit_trixie_mnt" 2>/dev/null || true
    }
    trap _podkit_trixie_umount EXIT
    _podkit_trixie_mount() {  # _podkit_trixie_mount TARGET MOUNT-ARGS...
        local target="$1"
        shift
        mount "$@" "$target"
        _podkit_trixie_mounted+=("$target")
    }
    local mnt="$_podkit_trixie_mnt"
    _podkit_trixie_mount "$mnt" --bind "$root"
    _podkit_trixie_mount "$mnt/proc" --bind /proc
    _podkit_trixie_mount "$mnt/sys" --rbind /sys
    _podkit_trixie_mount "$mnt/dev" --rbind /dev
    _podkit_trixie_mount "$mnt/run" -t tmpfs -o mode=755,nosuid,nodev tmpfs
    _podkit_trixie_mount "$mnt/tmp" -t tmpfs -o mode=1777,nosuid,nodev tmpfs
    for path in ${PODKIT_TRIXIE_BIND:-}; do
        mkdir -p "$mnt$path"
        _podkit_trixie_mount "$mnt$path" --bind "$path"
    done
    # What pip and apt need to reach the package registries from inside (this machine's CA bundle may hold a CA
    # that Debian's does not).
    _podkit_trixie_copy() {  # atomically: another run may be reading it right now
        [ -f "$1" ] || return 0
        mkdir -p "$(dirname "$2")"
        cp -L "$1" "$2.podkit.$$" && mv -f "$2.podkit.$$" "$2"
    }
    _podkit_trixie_copy /etc/ssl/certs/ca-certificates.crt "$mnt/etc/ssl/certs/ca-certificates.crt"
    _podkit_trixie_copy /etc/pip.conf "$mnt/etc/pip.conf"
    _podkit_trixie_copy /etc/resolv.conf "$mnt/etc/resolv.conf"
    local rc=0
    # pivot_root, not chroot, in a mount namespace of its own: the root must be the root of its mount namespace, as
    # on a real machine. Under a plain chroot, runc's `exec` joins a container's mount namespace at the machine's
    # root instead, and `podman exec` fails to chdir to the container's working directory ("chdir to cwd ... no such
    # file or directory"). The namespace is nested, so this shell keeps its view and the trap above unmounts.
    unshare --mount --propagation private -- sh -c 'cd "$1" && pivot_root . mnt && cd / && umount -l /mnt && shift &&
        exec "$@"' podkit-trixie "$mnt" \
        env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        TERM="${TERM:-dumb}" PODMAN_IGNORE_CGROUPSV1_WARNING=1 ${CI:+CI="$CI"} "$@" || rc=$?
    return $rc
}

_podkit_trixie_exec() {  # _podkit_trixie_exec ROOT CMD...
    local root="$1"
    shift
    unshare --mount --propagation private -- bash -c \
        "$(declare -f _podkit_trixie_inner); _podkit_trixie_inner \"\$@\"" podkit-trixie "$root" "$@"
}

_podkit_trixie_build() {  # _podkit_trixie_build DIR: debootstrap + packages into DIR (empty, ours)
    local dir="$1" mirror started=$SECONDS
    # (explicit returns: callers run this under `if !` / `||`, where set -e does not apply)
    mirror="$(podkit_trixie_mirror)" || return 1
    if ! command -v debootstrap >/dev/null; then
        _podkit_trixie_log "debootstrap is missing: run scripts/bootstrap.sh (podkit_apt) first"
        return 1
    fi
    _podkit_trixie_log "building the Debian 13 root in $dir from $mirror (once; cached)"
    # debootstrap mounts /proc and /sys in the target itself: a private namespace keeps those off the machine too.
    unshare --mount --propagation private -- debootstrap --variant=minbase trixie "$dir" "$mirror" \
        >"$dir.debootstrap.log" 2>&1 || {
        _podkit_trixie_log "debootstrap failed; last lines of its log:"
        tail -n 30 "$dir.debootstrap.log" >&2
        return 1
    }
    # Nothing starts services while packages install in a root that runs no init.
    printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d" && chmod 755 "$dir/usr/sbin/policy-rc.d" &&
        printf 'deb %s trixie main\ndeb %s trixie-updates main\n' "$mirror" "$mirror" >"$dir/etc/apt/sources.list" ||
        return 1
    _podkit_trixie_exec "$dir" sh -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "$@" && apt-get clean' podkit-trixie "${PODKIT_TRIXIE_PACKAGES[@]}" \
        >"$dir.apt.log" 2>&1 || {
        _podkit_trixie_log "apt-get install in the root failed; last lines of its log:"
        tail -n 30 "$dir.apt.log" >&2
        return 1
    }
    rm -f "$dir/usr/sbin/policy-rc.d" && mkdir -p "$dir/etc/containers/networks" &&
        printf '%s\n' "$PODKIT_TRIXIE_NETWORK" >"$dir/etc/containers/networks/podman.json" || return 1
    _podkit_trixie_log "root built in $((SECONDS - started)) s"
}

podkit_trixie_root() {
    local cache key root fd stale
    cache="$(podkit_trixie_cache)"
    key="$(podkit_trixie_key)"
    root="$cache/trixie-$key"
    mkdir -p "$cache"
    exec {fd}>"$root.lock"
    flock "$fd"
    if [ ! -f "$root/.complete" ]; then
        # Left by an interrupted build (we hold the lock, so no build of this key runs). --one-file-system: never
        # descend into anything mounted there.
        for stale in "$root" "$root".build.*; do
            [ -e "$stale" ] && rm -rf --one-file-system "$stale"
        done
        local tmp
        tmp="$(mktemp -d "$root.build.XXXXXX")"
        chmod 755 "$tmp"  # apt downloads as _apt
        if ! _podkit_trixie_build "$tmp"; then
            exec {fd}>&-
            return 1
        fi
        rm -f "$tmp".*.log
        touch "$tmp/.complete"
        mv "$tmp" "$root"
    fi
    exec {fd}>&-
    printf '%s\n' "$root"
}

podkit_trixie_run() {
    local root
    root="$(podkit_trixie_root)" || return 1
    _podkit_trixie_exec "$root" "$@"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    case "${1:-}" in
        root) podkit_trixie_root ;;
        run) shift; podkit_trixie_run "$@" ;;
        *) echo "usage: $0 root | run CMD..." >&2; exit 2 ;;
    esac
fi
