#!/usr/bin/env bash
# The main job on an embedded default: a local registry with a password (started here, stopped at the end),
# a small image built here from busybox-static and pushed to it, then playbooks/demo.yml — which logs in,
# inspects and runs the image with this collection's modules.
#   PODKIT_DEMO_DIR   working directory (default ${TMPDIR:-/tmp}/podkit-demo)
#   PODKIT_DEMO_KEEP=1  leave the registry running after the playbook
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
podkit_bootstrap

demo_dir="${PODKIT_DEMO_DIR:-${TMPDIR:-/tmp}/podkit-demo}"
mkdir -p "$demo_dir"
chmod 700 "$demo_dir"
cd "$demo_dir"

# These machines run containers only with runc and explicit ulimits; a normal host ignores nothing here.
cat > containers.conf <<'CONF'
[containers]
default_ulimits = ["nofile=1024:4096", "nproc=1024:1024"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF="$demo_dir/containers.conf"

# Secrets live in a 0600 vars file, never on a command line.
user=demo
password="$(openssl rand -hex 16)"
umask 077
printf 'demo_username: %s\ndemo_password: %s\n' "$user" "$password" > secrets.yml
printf '%s\n' "$password" | htpasswd -Bin "$user" > htpasswd 2>/dev/null
umask 022

port="$("$PODKIT_VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
rm -rf storage
cat > registry.yml <<CONF
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $demo_dir/storage}, delete: {enabled: true}}
http: {addr: "127.0.0.1:$port"}
auth: {htpasswd: {realm: podkit-demo, path: $demo_dir/htpasswd}}
CONF
env -u REGISTRY_HTTP_ADDR docker-registry serve registry.yml > registry.log 2>&1 &
registry_pid=$!
if [ "${PODKIT_DEMO_KEEP:-0}" != 1 ]; then
    trap 'kill $registry_pid 2>/dev/null || true' EXIT
fi
for _ in $(seq 1 50); do
    curl -fs -o /dev/null -w '' "http://127.0.0.1:$port/v2/" 2>/dev/null && break
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" 2>/dev/null)" = 401 ] && break
    sleep 0.1
done
podkit_log "registry on 127.0.0.1:$port (log: $demo_dir/registry.log)"

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
printf '{"auths": {"127.0.0.1:%s": {"auth": "%s"}}}\n' "$port" "$(printf '%s:%s' "$user" "$password" | base64 -w0)" > push-auth.json
chmod 600 push-auth.json
podman push --quiet --tls-verify=false --authfile push-auth.json localhost/podkit-demo/web:1 "docker://127.0.0.1:$port/demo/web:1"
rm -f push-auth.json
podkit_log "pushed 127.0.0.1:$port/demo/web:1"

ansible-playbook -i localhost, -c local \
    -e "ansible_python_interpreter=$PODKIT_VENV/bin/python" \
    -e "demo_registry=127.0.0.1:$port" -e "demo_dir=$demo_dir" -e @secrets.yml \
    "$PODKIT_STAGE/playbooks/demo.yml"
