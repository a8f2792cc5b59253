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
  spec:
    description:
      - The container options of this module (O(env), O(ports), O(healthcheck), ...) as one dictionary, for
        example a role variable passed through as it is. Its keys are checked like the options themselves.
      - A key set both here and as an option of its own fails the task.
    type: dict
"""
