#!/usr/bin/env bash
# The main job on an embedded default: a local registry with a password (started here, stopped at the end), a small
# image built here from busybox-static and pushed to it, then playbooks/demo.yml — which logs in and inspects the
# image with this collection's modules, then deploys it from the registry as a boot-time systemd service
# (roles/container_service) and fetches the page it serves. Then a "reboot" and the page again, then removal.
#
# Where systemd is not PID 1 (containers, CI machines), the service goes to a private `systemd --user` manager
# started here (its own XDG_RUNTIME_DIR, D-Bus socket, config directory and cgroup under PODKIT_DEMO_DIR). The
# "reboot" stops that manager — the container stops with it — and starts a fresh one, which starts the enabled
# service again with no Ansible run in between. On a host where systemd is PID 1 the service goes to the real
# manager: the system one as root (/etc/systemd/system), else yours (~/.config/systemd/user); no reboot there.
#
#   PODKIT_DEMO_DIR     working directory (default ${TMPDIR:-/tmp}/podkit-demo)
#   PODKIT_DEMO_KEEP=1  leave the registry, the service (and the private manager) running after the demo
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
podkit_bootstrap

demo_dir="${PODKIT_DEMO_DIR:-${TMPDIR:-/tmp}/podkit-demo}"
mkdir -p "$demo_dir"
chmod 700 "$demo_dir"
demo_dir="$(cd "$demo_dir" && pwd)"
cd "$demo_dir"
keep="${PODKIT_DEMO_KEEP:-0}"
service_name=podkit-demo-web
# The role's default format (auto) gives a unit on podman < 4.4 and a Quadlet file from 4.4 on; set after the play.
unit="container-$service_name.service"
started_at=$SECONDS

# --- processes of this demo: pid files, checked by name so a reused pid is never signalled --------------------------
pid_of() {  # pid_of FILE COMM: the pid in FILE when that process runs COMM
    local pid
    pid="$(cat "$1" 2>/dev/null || true)"
    [ -n "$pid" ] && [ "$(ps -p "$pid" -o comm= 2>/dev/null || true)" = "$2" ] && printf '%s\n' "$pid"
    return 0
}
stop_pid() {  # stop_pid PID: TERM, wait up to 10 s, then KILL
    local pid="$1" _
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}

# --- the systemd manager the service goes to ---------------------------------------------------------------------
systemd_dir="$demo_dir/systemd"
if [ "$(ps -p 1 -o comm=)" != systemd ]; then
    # No systemd as PID 1: a private user manager, reached through these variables only (mgr runs a command with them).
    private=1
    scope=user
    mgr_vars=("XDG_RUNTIME_DIR=$systemd_dir/run" "XDG_CONFIG_HOME=$systemd_dir/config"
              "DBUS_SESSION_BUS_ADDRESS=unix:path=$systemd_dir/run/bus")
    # the login stores the credentials in the manager's config directory: the "reboot" keeps it, like ~/.config
    service_auth_file="$systemd_dir/config/containers/auth.json"
    unit_dir="$systemd_dir/config/systemd/user"
    quadlet_dir="$systemd_dir/config/containers/systemd"
else
    private=0
    mgr_vars=()
    if [ "$(id -u)" -eq 0 ]; then
        scope=system
        service_auth_file=/etc/containers/auth.json
        unit_dir=/etc/systemd/system
        quadlet_dir=/etc/containers/systemd
    else
        scope=user
        service_auth_file="$HOME/.config/containers/auth.json"
        unit_dir="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
        quadlet_dir="${XDG_CONFIG_HOME:-$HOME/.config}/containers/systemd"
    fi
fi
mgr() { env "${mgr_vars[@]}" "$@"; }
systemctl_scope() { if [ "$scope" = user ]; then mgr systemctl --user "$@"; else systemctl "$@"; fi; }

# What user@UID.service's Delegate=yes gives a manager at boot: a cgroup of its own, so its units do not mix with
# other managers' (they would share /app.slice) and an empty cgroup proves that nothing of it is left.
cgroup_name="podkit-demo-$(printf '%s' "$demo_dir" | sha256sum | cut -c1-8)"
cgroup_unified=/sys/fs/cgroup/unified
[ -d "$cgroup_unified" ] || cgroup_unified=/sys/fs/cgroup

start_manager() {
    local cgroup="" state _
    mkdir -p "$systemd_dir/run" "$systemd_dir/config/systemd/user"
    chmod 700 "$systemd_dir/run"
    # podman 5's Quadlet services of a user wait (90 s at most) for the system manager's network-online.target; with
    # no system manager here it never comes, so that wait is masked in this private manager only.
    ln -sfn /dev/null "$systemd_dir/config/systemd/user/podman-user-wait-network-online.service"
    # systemctl and the manager look for this directory to decide that systemd runs
    [ -d /run/systemd/system ] || mkdir -p /run/systemd/system
    if mkdir -p "$cgroup_unified/$cgroup_name" 2>/dev/null && [ -w "$cgroup_unified/$cgroup_name/cgroup.procs" ]; then
        cgroup="$cgroup_unified/$cgroup_name"
    fi
    rm -f "$systemd_dir/manager.pid"
    mgr setsid sh -c '[ -z "$1" ] || echo $$ > "$1/cgroup.procs"; echo $$ > "$2"; exec /lib/systemd/systemd --user' \
        sh "$cgroup" "$systemd_dir/manager.pid" >> "$systemd_dir/manager.log" 2>&1 < /dev/null &
    for _ in $(seq 1 150); do
        state="$(mgr systemctl --user is-system-running 2>/dev/null || true)"
        case "$state" in running|degraded) return 0 ;; esac
        if [ -s "$systemd_dir/manager.pid" ] && ! kill -0 "$(cat "$systemd_dir/manager.pid")" 2>/dev/null; then
            break
        fi
        sleep 0.2
    done
    podkit_log "systemd --user did not come up; $systemd_dir/manager.log:"
    tail -20 "$systemd_dir/manager.log" >&2
    return 1
}

stop_manager() {  # like logging out: the manager stops its units and exits
    local pid _
    pid="$(pid_of "$systemd_dir/manager.pid" systemd)"
    [ -n "$pid" ] || return 0
    mgr systemctl --user exit 2>/dev/null || kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && stop_pid "$pid"
    rm -f "$systemd_dir/manager.pid"
}

remove_cgroups() {  # only empty ones: rmdir refuses a cgroup with processes in it
    local dir
    # every hierarchy: on cgroup v1, podman 5's Quadlet services (--cgroups=split) make the manager's cgroup in each
    # controller's hierarchy too (pids, memory, ...)
    for dir in "$cgroup_unified/$cgroup_name" /sys/fs/cgroup/*/"$cgroup_name"; do
        [ -d "$dir" ] && find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    return 0
}

# A run that ended without its cleanup (killed, or PODKIT_DEMO_KEEP=1) left its registry and manager behind.
previous="$(pid_of registry.pid docker-registry)"
[ -z "$previous" ] || { podkit_log "stopping the registry of an earlier run (pid $previous)"; stop_pid "$previous"; }
if [ "$private" = 1 ] && [ -n "$(pid_of "$systemd_dir/manager.pid" systemd)" ]; then
    podkit_log "stopping the systemd --user manager of an earlier run"
    stop_manager
fi

# These machines run containers only with runc and explicit ulimits; a normal host ignores nothing here.
cat > containers.conf <<'CONF'
[containers]
default_ulimits = ["nofile=1024:4096", "nproc=1024:1024"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF="$demo_dir/containers.conf"

# Secrets live in 0600 files, never on a command line.
user=demo
password="$(openssl rand -hex 16)"
umask 077
printf 'demo_username: %s\ndemo_password: %s\n' "$user" "$password" > secrets.yml
printf '%s\n' "$password" | htpasswd -Bin "$user" > htpasswd 2>/dev/null
umask 022

read -r port web_port < <("$PODKIT_VENV/bin/python" -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))')
registry="127.0.0.1:$port"
rm -rf storage
cat > registry.yml <<CONF
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $demo_dir/storage}, delete: {enabled: true}}
http: {addr: "$registry"}
auth: {htpasswd: {realm: podkit-demo, path: $demo_dir/htpasswd}}
CONF
env -u REGISTRY_HTTP_ADDR docker-registry serve "$demo_dir/registry.yml" > registry.log 2>&1 &
echo $! > registry.pid

deployed=0
cleanup() {
    local rc=$?
    set +e
    trap - EXIT
    if [ "$deployed" = 1 ]; then
        podkit_log "removing the service (roles/container_service with container_service_state=absent)"
        [ "$private" = 0 ] || [ -n "$(pid_of "$systemd_dir/manager.pid" systemd)" ] || start_manager
        mgr ansible-playbook "${playbook_args[@]}" --tags service -e demo_service_state=absent || rc=1
        if [ -e "$unit_dir/$unit" ] || [ -e "$quadlet_dir/$service_name.container" ]; then
            # the role could not run: remove what it installed by hand
            systemctl_scope disable --now "$unit" >/dev/null 2>&1
            systemctl_scope stop "$service_name.service" >/dev/null 2>&1
            rm -f "$unit_dir/$unit" "$unit_dir/default.target.wants/$unit" "$quadlet_dir/$service_name.container"
            podman rm -f --ignore -t 0 "$service_name" >/dev/null 2>&1
            rc=1
        fi
        # the pulled image, and those of earlier runs kept with PODKIT_DEMO_KEEP=1 (in use by a container: kept)
        podman images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep -E '^127\.0\.0\.1:[0-9]+/demo/web:1$' |
            xargs -r podman rmi >/dev/null 2>&1
    fi
    if [ "$private" = 1 ]; then
        stop_manager
        remove_cgroups
    fi
    local pid
    pid="$(pid_of registry.pid docker-registry)"
    [ -z "$pid" ] || stop_pid "$pid"
    rm -f registry.pid
    podkit_log "stopped and removed what the demo started ($((SECONDS - started_at)) s in all)"
    exit $rc
}
if [ "$keep" != 1 ]; then
    trap cleanup EXIT
    trap 'exit 130' INT TERM
fi

code=""
for _ in $(seq 1 100); do
    code="$(curl -s -o /dev/null -w '%{http_code}' "http://$registry/v2/" 2>/dev/null || true)"
    case "$code" in 200|401) break ;; esac
    sleep 0.1
done
case "$code" in 200|401) ;; *) podkit_log "the registry did not start; registry.log:"; cat registry.log >&2; exit 1 ;; esac
podkit_log "registry on $registry (log: $demo_dir/registry.log)"

# A tiny image of our own: busybox-static, serving a page with httpd.
rm -rf rootfs && mkdir -p rootfs/bin rootfs/www
cp /bin/busybox rootfs/bin/busybox
for applet in sh echo cat ls sleep httpd wget true; do ln -sf busybox "rootfs/bin/$applet"; done
echo '<h1>podkit.containers demo</h1>' > rootfs/www/index.html
tar -C rootfs -cf rootfs.tar .
podman import --quiet \
    --change 'CMD ["/bin/httpd", "-f", "-p", "8080", "-h", "/www"]' \
    --change 'LABEL org.opencontainers.image.title=podkit-demo' \
    --change 'EXPOSE 8080' \
    rootfs.tar localhost/podkit-demo/web:1 >/dev/null
umask 077
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$registry" "$(printf '%s:%s' "$user" "$password" | base64 -w0)" > push-auth.json
umask 022
podman push --quiet --tls-verify=false --authfile push-auth.json localhost/podkit-demo/web:1 "docker://$registry/demo/web:1"
rm -f push-auth.json
podkit_log "pushed $registry/demo/web:1"

if [ "$private" = 1 ]; then
    start_manager
    podkit_log "systemd is not PID 1 here: private systemd --user manager (pid $(cat "$systemd_dir/manager.pid")," \
        "XDG_RUNTIME_DIR=$systemd_dir/run, units in $unit_dir)"
else
    podkit_log "systemd is PID 1: the service goes to the $scope manager (units in $unit_dir)"
fi

playbook_args=(-i localhost, -c local
    -e "ansible_python_interpreter=$PODKIT_VENV/bin/python"
    -e "demo_registry=$registry" -e "demo_dir=$demo_dir" -e @secrets.yml
    -e "demo_web_port=$web_port" -e "demo_service_scope=$scope"
    -e "demo_service_auth_file=$service_auth_file" -e "demo_containers_conf=$CONTAINERS_CONF"
    "$PODKIT_STAGE/playbooks/demo.yml")
deployed=1
mgr ansible-playbook "${playbook_args[@]}"
if [ -e "$quadlet_dir/$service_name.container" ]; then
    unit="$service_name.service"
    podkit_log "Quadlet (podman $(podman version --format '{{.Client.Version}}')): $quadlet_dir/$service_name.container" \
        "became $unit through podman's generator"
fi

url="http://127.0.0.1:$web_port/"
podkit_log "$unit is $(systemctl_scope is-enabled "$unit" 2>/dev/null) and $(systemctl_scope is-active "$unit" 2>/dev/null)"
podkit_log "curl $url (before the reboot): $(curl -fsS --max-time 5 "$url")"

if [ "$private" = 1 ]; then
    podkit_log "\"reboot\": the user manager exits (its units stop), a fresh one starts (enabled units start)"
    stop_manager
    if podman container exists "$service_name"; then
        podkit_log "the container $service_name outlived its manager"
        exit 1
    fi
    podkit_log "manager gone, container $service_name gone, $url: $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)"
    start_manager
    page=""
    for _ in $(seq 1 150); do
        page="$(curl -fsS --max-time 2 "$url" 2>/dev/null || true)"
        [ -n "$page" ] && break
        sleep 0.2
    done
    if [ -z "$page" ]; then
        podkit_log "$url did not answer after the reboot"
        systemctl_scope status --no-pager "$unit" >&2 || true
        exit 1
    fi
    podkit_log "curl $url (after the reboot, no Ansible run): $page"
else
    podkit_log "systemd starts $unit at boot; a real reboot is left to you (PODKIT_DEMO_KEEP=1 keeps the service)"
fi
podkit_log "the demo took $((SECONDS - started_at)) s so far"

if [ "$keep" = 1 ]; then
    podkit_log "kept (PODKIT_DEMO_KEEP=1): registry $registry (pid $(cat registry.pid)), $unit serving $url"
    if [ "$private" = 1 ]; then
        podkit_log "reach the private manager with: export ${mgr_vars[*]}"
    fi
    podkit_log "to remove all of it, run scripts/demo.sh again without PODKIT_DEMO_KEEP (same PODKIT_DEMO_DIR)"
fi
