#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: container_state
short_description: Manage the lifecycle of a podman container
version_added: 0.1.0
description:
  - Brings one podman container to a desired state — V(present), V(started), V(stopped), V(paused),
    V(restarted) or V(absent) — the way an operator does with C(podman run -d), C(pause)/C(unpause),
    C(stop), C(kill), C(restart) and C(rm).
  - The desired configuration is compared with the B(effective) configuration of an existing container
    (C(podman inspect) of the container and of its image), not with the command line that created it.
    An option that is not set is not compared, so image defaults and podman's own settings are never
    reported as changes. When a set option differs, or the image the container runs is not the image
    O(image) names (for example after a pull), the container is recreated (removed, then created with
    the configuration given here) and brought to the desired state.
  - A container of the same name created outside Ansible is treated like any other. If its effective
    configuration matches, it is left alone; if not, it is recreated with this configuration.
  - 'Check mode: the current container and image are inspected and the planned transitions are returned in
    RV(actions) with C(changed) and RV(diff), but nothing is pulled, created, started, stopped or removed.
    With O(pull=always) check mode cannot know whether the registry has a newer image and predicts no pull
    unless the image is missing locally. When a pull would happen and the signature policy (O(signature_policy))
    requires signatures for the image, check mode verifies them too and fails as the real run would.'
  - 'Pulls are done the way M(podkit.containers.image_pull) does them: credentials in a private temporary auth file,
    and, when the signature policy requires signatures, the registry digest of the name is verified first and
    podman pulls exactly that digest (then the image is tagged with the name). A refused image is not pulled, and
    the container is neither created nor recreated.'
  - When podman fails to pull O(image) because it is an OCI artifact (a Helm chart, a cosign signature), the task
    fails with a message that says so, and the container is left as it was.
author:
  - podkit.containers maintainers (@podkit)
extends_documentation_fragment:
  - podkit.containers.container_spec
  - podkit.containers.auth
  - podkit.containers.signatures
  - podkit.containers.attributes
  - podkit.containers.attributes.actiongroup_podman
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: partial
    details:
      - O(state=restarted) restarts the container on every run, so it always reports a change.
options:
  name:
    description:
      - Name of the container.
    type: str
    required: true
  image:
    description:
      - Image to run, as podman understands it (V(registry.example.com/app:1.2), a short name resolved through
        registries.conf, or an image id).
      - Required unless O(state=absent).
    type: str
  state:
    description:
      - V(present) — the container exists (created when missing, not started; a running container is left
        running, a recreated one gets back the run state it had).
      - V(started) — the container runs (a paused container is unpaused).
      - V(stopped) — the container does not run. It is sent its stop signal (O(stop_signal)) and killed after
        O(stop_timeout) seconds. A missing container is created but not started.
      - V(paused) — the container runs, paused.
      - V(restarted) — the container is restarted (started when it was not running), on every run.
      - V(absent) — the container is removed; a running one is stopped first (see O(force)).
    type: str
    choices: [present, started, stopped, paused, restarted, absent]
    default: started
  command:
    description:
      - Command (arguments to the entrypoint) to run instead of the image's C(CMD).
      - A string is split like a shell would; a list is used as is.
      - When not set, the image's C(CMD) is used and not compared.
    type: raw
  env:
    description:
      - Environment variables. Only the variables given here are compared with the container; variables from
        the image or set by podman are not changes. Removing a variable from this list does not recreate the
        container, unless O(comparisons.env=strict).
      - Quote values that YAML would read as booleans.
    type: dict
  comparisons:
    description:
      - How an option is compared with the container. V(subset) (the default) - only the keys given count, so
        removing one from the task is no change. V(strict) - the container must have no other key either (keys
        of the image and podman's own are still not counted), so removing one recreates the container.
      - O(comparisons.env=strict) cannot be combined with O(env_files) or secrets of type V(env), whose variables
        are in the container's environment too.
    type: dict
    suboptions:
      env:
        description: How O(env) is compared.
        type: str
        choices: [subset, strict]
      labels:
        description: How O(labels) is compared.
        type: str
        choices: [subset, strict]
      annotations:
        description: How O(annotations) is compared.
        type: str
        choices: [subset, strict]
  ports:
    description:
      - Published ports, C([[ip:][host_port]:]container_port[/tcp|udp|sctp]), ranges allowed (V(8000-8001:80-81)).
      - A port given without a host port is published on a random host port; any host port matches it.
      - When set, the container must publish exactly these ports.
    type: list
    elements: str
  volumes:
    description:
      - Mounts, C(source:container_path[:options]). C(source) is an absolute host path (bind mount) or a
        volume name; C(container_path) alone is an anonymous volume. Options are C(ro), C(rw), C(z), C(Z),
        C(U), C(O) and the propagation/suid/dev/exec flags of C(podman run --volume).
      - Type, source, container path and read-only are compared; volumes the image declares are not changes.
    type: list
    elements: str
  labels:
    description:
      - Labels. Only the labels given here are compared (see O(comparisons)); labels from the image are merged by
        podman and are not changes.
    type: dict
  restart_policy:
    description:
      - Restart policy, V(no), V(always), V(unless-stopped), V(on-failure) or C(on-failure:N).
    type: str
  stop_signal:
    description:
      - Signal sent to stop the container, by name (V(SIGTERM), V(TERM)) or number. Fixed when the container is created.
    type: str
  stop_timeout:
    description:
      - Seconds to wait after the stop signal before the container is killed. Fixed when the container is created.
    type: int
  pull:
    description:
      - When to pull O(image).
      - V(missing) — only when it is not in local storage.
      - V(always) — on every run; the container is recreated when the pulled image differs from the one it runs.
      - V(newer) — when the registry has a newer image than the local one, that is when its digest for the tag (one C(HEAD)
        request) is not among the local image's C(RepoDigests), as M(podkit.containers.image_pull) compares them. Check mode asks the registry too.
      - V(never) — never; fails when the image is not in local storage.
    type: str
    choices: [missing, newer, always, never]
    default: missing
  platform:
    description:
      - Platform to pull, C(os/arch[/variant]) (V(linux/arm64)).
    type: str
  recreate:
    description:
      - Recreate the container even when its configuration matches.
    type: bool
    default: false
  force_kill:
    description:
      - Kill the container (C(SIGKILL)) instead of stopping it with its stop signal, wherever it has to stop.
    type: bool
    default: false
  force:
    description:
      - With O(state=absent), remove a running or paused container at once (C(podman rm --force)) instead of
        stopping it first.
    type: bool
    default: false
  executable:
    description:
      - Path or name of the podman executable on the target.
    type: str
    default: podman
notes:
  - O(healthcheck) is compared key by key; only the keys given are compared.
  - Requires podman on the target. Works as root and rootless (run as the user that owns the containers).
  - Podman 4.3 cannot stop a paused container, so V(stopped) unpauses it first (or kills it with O(force_kill)).
seealso:
  - module: podkit.containers.image_pull
  - module: podkit.containers.image_copy
'''

EXAMPLES = r'''
- name: Run a web server
  podkit.containers.container_state:
    name: web
    image: registry.example.com/httpd:2.4
    ports:
      - 8080:80
    env:
      LOG_LEVEL: info
    volumes:
      - /srv/www:/usr/local/apache2/htdocs:ro
    restart_policy: always

- name: Stop it gracefully (SIGTERM, SIGKILL after 30 s)
  podkit.containers.container_state:
    name: web
    image: registry.example.com/httpd:2.4
    state: stopped

- name: Pull the image again and recreate the container if it changed
  podkit.containers.container_state:
    name: web
    image: registry.example.com/httpd:2.4
    pull: always
    username: deploy
    password: "{{ registry_password }}"

- name: Run only an image signed by the release key (pulls when the tag moved, after checking the signature)
  podkit.containers.container_state:
    name: web
    image: registry.example.com/release/httpd:2.4
    pull: newer
    signature_policy: /etc/containers/policy.json
    registries_d: /etc/containers/registries.d
- name: Remove it
  podkit.containers.container_state:
    name: web
    state: absent
'''

RETURN = r'''
actions:
  description:
    - Transitions performed, in order (in check mode, the ones that would be performed). Empty when nothing changed.
    - Among V(pull), V(create), V(recreate), V(start), V(stop), V(kill), V(pause), V(unpause), V(restart), V(remove).
  returned: always
  type: list
  elements: str
  sample: [pull, recreate, start]
container:
  description:
    - The container after the task (in check mode, as it is now). Empty when there is no container.
  returned: always
  type: dict
  contains:
    id:
      description: Container id.
      type: str
    name:
      description: Container name.
      type: str
    state:
      description: V(created), V(running), V(paused) or V(exited).
      type: str
    status:
      description: podman's own status word.
      type: str
    image:
      description: Image name the container was created from.
      type: str
    image_id:
      description: Id of the image the container runs.
      type: str
    exit_code:
      description: Exit code of the last run.
      type: int
  sample:
    id: 3c1e8a0d9f2b
    name: web
    state: running
    status: running
    image: registry.example.com/httpd:2.4
    image_id: 4a2eff8fb50c5ef8a84fb0af231fb8b92672c828405aed564b870aaa72dee83e
    exit_code: 0
signatures:
  description: The signatures that satisfied O(signature_policy) for the pulled image, one per requirement (C(type)
    simple or sigstore, C(key) the GPG fingerprint for simple signatures, C(identity), C(digest)).
  returned: when a pull was (or would be) done and the policy required signatures
  type: list
  elements: dict
diff:
  description:
    - C(before) and C(after) with the container C(state) and the configuration keys that differ (for a new
      container, the whole desired configuration).
  returned: always
  type: dict
  sample:
    before: {state: running, env: {LOG_LEVEL: debug}}
    after: {state: running, env: {LOG_LEVEL: info}}
'''

import gc

from ansible.module_utils.basic import AnsibleModule

# Everything imported so far lives until this short process exits; frozen, it is not rescanned by the garbage
# collector while podkit's module_utils are compiled and run (~15-20 ms per task, docs/performance.md).
gc.freeze()

from ansible_collections.podkit.containers.plugins.module_utils.common import (
    AUTH_OPTIONS, SIGNATURE_OPTIONS, command_runner, module_kwargs, require_registry_libs, run_module,
)
from ansible_collections.podkit.containers.plugins.module_utils.usecases.container_state import (
    DESIRED_STATES, PULL_POLICIES, comparisons_argspec, container_spec_argspec, run,
)


def main():
    # Credentials and TLS for pulls: the same options, handed to podman the same way, as image_pull.
    module = AnsibleModule(**module_kwargs(dict(
        name=dict(type='str', required=True),
        image=dict(type='str'),
        state=dict(type='str', default='started', choices=list(DESIRED_STATES)),
        restart_policy=dict(type='str'),
        pull=dict(type='str', default='missing', choices=list(PULL_POLICIES)),
        platform=dict(type='str'),
        recreate=dict(type='bool', default=False),
        force_kill=dict(type='bool', default=False),
        force=dict(type='bool', default=False),
        executable=dict(type='str', default='podman'),
        comparisons=comparisons_argspec(),
    ), groups=(container_spec_argspec(), AUTH_OPTIONS, SIGNATURE_OPTIONS),
        required_if=[('state', state, ['image']) for state in DESIRED_STATES if state != 'absent']))
    if module.params['pull'] == 'newer':
        require_registry_libs(module, jsonschema_needed=False)
    run_module(module, run, module.params, command_runner(module), command_runner(module, binary=True), check_mode=module.check_mode)


if __name__ == '__main__':
    main()
