# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The container spec shared by container_state and systemd_generate: the rows of lifecycle/spec.OPTIONS that are
    # shared (spec.argument_spec()). tests/unit/plugins/doc_fragments/test_container_spec.py fails when the names,
    # types, elements, choices, defaults or sub-options here and in the table disagree.
    # A module documents an option again where it adds to its meaning (container_state: what is compared).
    DOCUMENTATION = r"""
options:
  command:
    description:
      - Command (arguments to the entrypoint) to run instead of the image's C(CMD).
      - A string is split like a shell would; a list is used as is.
    type: raw
  entrypoint:
    description:
      - Entrypoint to use instead of the image's C(ENTRYPOINT), as a list (or a string split like a shell would).
    type: raw
  env:
    description:
      - Environment variables of the container.
      - Quote values that YAML would read as booleans.
    type: dict
  ports:
    description:
      - Published ports, C([[ip:][host_port]:]container_port[/tcp|udp|sctp]), ranges allowed (V(8000-8001:80-81)).
    type: list
    elements: str
  volumes:
    description:
      - Mounts, C(source:container_path[:options]). C(source) is an absolute host path (bind mount) or a volume name;
        C(container_path) alone is an anonymous volume. Options are C(ro), C(rw), C(z), C(Z), C(U), C(O) and the
        propagation/suid/dev/exec flags of C(podman run --volume).
    type: list
    elements: str
  labels:
    description:
      - Labels of the container.
    type: dict
  user:
    description:
      - User (and group) in the container, C(user[:group]) by name or id.
    type: str
  workdir:
    description:
      - Working directory inside the container.
    type: str
  network:
    description:
      - Network mode (V(bridge), V(host), V(none), V(slirp4netns), V(private), C(container:<name>)) or names of podman
        networks to connect to.
    type: list
    elements: str
  hostname:
    description:
      - Host name inside the container.
    type: str
  stop_signal:
    description:
      - Signal sent to stop the container, by name (V(SIGTERM), V(TERM)) or number.
    type: str
  stop_timeout:
    description:
      - Seconds to wait after the stop signal before the container is killed.
    type: int
  memory:
    description:
      - Memory limit, in bytes or with a unit (V(512m), V(1g)). Units are binary (1k = 1024).
    type: str
  cpus:
    description:
      - Number of CPUs the container may use (V(1.5)).
    type: float
  healthcheck:
    description:
      - Health check of the container.
    type: dict
    suboptions:
      test:
        description:
          - Command; a string runs through the container's shell (C(CMD-SHELL)), a list is executed directly,
            V(NONE) disables the image's health check.
        type: raw
        required: true
      interval:
        description: Time between checks, as a duration (V(30s), V(1m30s)) or seconds.
        type: str
      timeout:
        description: Time a check may take.
        type: str
      retries:
        description: Consecutive failures before the container is unhealthy.
        type: int
      start_period:
        description: Start-up time during which failures are not counted.
        type: str
      on_failure:
        description:
          - What podman does when the container turns unhealthy (C(--health-on-failure)). V(restart) needs a
            restart-capable setup (a systemd unit, or a restart policy).
        type: str
        choices: [none, kill, restart, stop]
  secrets:
    description:
      - podman secrets (C(podman secret create)) the container gets,
        C(name[,type=mount|env][,target=TARGET][,uid=N][,gid=N][,mode=0400]). Only the name of the secret is given
        here, never its value, so the value appears on no command line and in no unit file.
      - V(type=mount) (the default) mounts it as a file (C(/run/secrets/NAME), or C(target)); V(type=env) sets the
        variable C(target) (default the name). podman 4.3 shows the value of an env secret in C(podman inspect) of
        a started container (its C(Env)); a mounted secret stays out of it.
      - The secret must exist before the container is created (podman fails otherwise).
      - Names, types, env targets and uid/gid/mode are compared; podman 4.3 records no target of a mounted secret.
    type: list
    elements: str
  cap_add:
    description:
      - Capabilities to add (C(NET_ADMIN) or C(CAP_NET_ADMIN), V(ALL)). Compared as a set.
    type: list
    elements: str
  cap_drop:
    description:
      - Capabilities to drop (C(CHOWN) or C(CAP_CHOWN), V(ALL)). Compared as a set.
    type: list
    elements: str
  devices:
    description:
      - Host devices, C(/dev/host[:/dev/container][:permissions]) with permissions among C(r), C(w), C(m).
      - Host and container paths are compared; podman 4.3 records no permissions.
    type: list
    elements: str
  security_opt:
    description:
      - Security options (C(no-new-privileges), C(label=disable), C(seccomp=/path/profile.json), ...), as
        C(podman run --security-opt) takes them. Compared as a set.
    type: list
    elements: str
  privileged:
    description:
      - Run the container privileged (all capabilities and devices, no confinement).
    type: bool
  read_only:
    description:
      - Mount the root file system read-only. podman then mounts a tmpfs on C(/run), C(/tmp) and C(/var/tmp);
        those are not drift of O(tmpfs).
    type: bool
  tmpfs:
    description:
      - tmpfs mounts, C(/container/path[:options]) (V(/run/app:rw,size=64m,mode=1777)). The paths must be the
        mounted tmpfs; the options given must be among the ones podman records (it adds its own).
    type: list
    elements: str
  mounts:
    description:
      - Mounts in the C(podman run --mount) syntax, C(type=bind|volume|tmpfs,source=...,destination=...[,ro=true]),
        with C(src)/C(dst)/C(target) accepted for C(source)/C(destination).
      - Type, source, destination and read-only are compared for the destinations given; other options are passed
        on. A destination given here is not drift of O(volumes).
    type: list
    elements: str
  ulimits:
    description:
      - Resource limits, C(name=soft[:hard]) (V(nofile=1024:2048)); V(-1) is unlimited. Only the limits given are
        compared (the defaults of containers.conf are not drift).
    type: list
    elements: str
  sysctls:
    description:
      - Namespaced kernel parameters (C(net.ipv4.ip_forward)). Only the keys given are compared, against the OCI
        configuration podman wrote when the container was started (before its first start, the recorded command line).
    type: dict
  shm_size:
    description:
      - Size of C(/dev/shm), in bytes or with a binary unit (V(128m)).
    type: str
  pids_limit:
    description:
      - Most processes the container may run; V(0) is unlimited.
    type: int
  memory_reservation:
    description:
      - Memory soft limit, in bytes or with a binary unit (V(256m)).
    type: str
  memory_swap:
    description:
      - Memory plus swap limit, in bytes or with a binary unit (V(1g)); V(-1) is unlimited swap.
    type: str
  cpu_shares:
    description:
      - Relative CPU weight (V(1024) is the default share of a container).
    type: int
  cpuset_cpus:
    description:
      - CPUs the container may run on (V(0-2,4)). Compared as a set of CPUs.
    type: str
  dns:
    description:
      - DNS servers of the container, in order.
    type: list
    elements: str
  dns_search:
    description:
      - DNS search domains, in order.
    type: list
    elements: str
  dns_option:
    description:
      - resolv.conf options (V(ndots:2)), in order.
    type: list
    elements: str
  add_hosts:
    description:
      - Entries of C(/etc/hosts), C(host:ip) (V(db.local:10.0.0.5)). Compared as a set.
    type: list
    elements: str
  network_aliases:
    description:
      - Names of the container on its networks (C(--network-alias)); only with O(network) names of podman networks.
        Compared as a set (podman's own alias, the short container id, is not drift).
    type: list
    elements: str
  ip:
    description:
      - Static IPv4 address of the container on its podman network (O(network) names one network).
      - Compared with the address of the running container, or before its first start with podman's record.
    type: str
  mac_address:
    description:
      - MAC address of the container on its network (V(92:d0:c6:0a:29:33)), compared like O(ip).
    type: str
  pod:
    description:
      - Pod (name or id) the container joins; the pod must exist (C(podman pod create)). Compared with the pod the
        container was created in.
    type: str
  publish_all:
    description:
      - Publish every port the image exposes on a random host port.
    type: bool
  group_add:
    description:
      - Additional groups of the container's process (names or ids, or V(keep-groups)). Compared as a set.
    type: list
    elements: str
  init:
    description:
      - Run an init process (catatonit) as PID 1 that forwards signals and reaps zombies.
    type: bool
  tty:
    description:
      - Allocate a pseudo-terminal.
    type: bool
  interactive:
    description:
      - Keep standard input open.
    type: bool
  annotations:
    description:
      - OCI annotations. Only the annotations given are compared (M(podkit.containers.container_state) can compare
        them strictly, see its C(comparisons)); podman's own are never drift.
    type: dict
  log_driver:
    description:
      - Log driver. V(json-file) is podman's other name for V(k8s-file).
    type: str
    choices: [k8s-file, journald, none, passthrough, json-file]
  log_opt:
    description:
      - Log driver options (C(max-size), C(tag), C(path), ...; C(max_size) is accepted for C(max-size)).
      - podman 4.3 records C(max-size), C(tag) and C(path), so only those are compared.
    type: dict
  timezone:
    description:
      - Time zone of the container (V(Europe/Berlin), V(local)).
    type: str
  env_files:
    description:
      - Files of C(NAME=VALUE) lines (C(#) starts a comment) read by podman when it creates the container.
      - The files are read on the target and their variables compared with the container's environment, so a
        changed file recreates the container. The diff names the variables that differ, never their values.
    type: list
    elements: path
  userns:
    description:
      - User namespace mode (V(host), V(private), V(keep-id), V(auto), V(nomap), C(ns:/path)). Its mode is compared.
    type: str
  uidmap:
    description:
      - UID mappings, C(container_id:host_id:amount) (V(0:100000:65536)), in order.
    type: list
    elements: str
  gidmap:
    description:
      - GID mappings, C(container_id:host_id:amount), in order.
    type: list
    elements: str
  extra_args:
    description:
      - More arguments of C(podman create)/C(podman run) for what no option covers, put before the image
        (V([--ipc, host])). Use an option where there is one.
      - They are compared with the command line podman recorded for the container, so a container is recreated
        when they change, and not on every run.
    type: list
    elements: str
  spec:
    description:
      - The container options of this module (O(env), O(ports), O(healthcheck), ...) as one dictionary, for
        example a role variable passed through as it is. Its keys are checked like the options themselves.
      - A key set both here and as an option of its own fails the task.
    type: dict
"""
