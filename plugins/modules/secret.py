#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: secret
short_description: Manage a podman secret, like C(podman secret create) and C(podman secret rm)
version_added: 0.2.0
description:
  - Makes a podman secret hold a value (from O(data) or from the file O(path) on the target), or removes it.
  - The value is handed to podman on standard input (C(podman secret create NAME -)), never on a command line.
    It is in no result, diff, warning or error message.
  - 'Idempotent without storing the value anywhere but in the secret: when it creates a secret, the module adds two
    labels, C(io.podkit.secret.salt) (16 random bytes) and C(io.podkit.secret.hmac) (HMAC-SHA256 of the value keyed
    with that salt). A later run computes the same HMAC of its value and compares. The HMAC does not reveal the value,
    but like any hash it lets someone who can read the labels test guesses: give low-entropy values
    (short passwords) only to hosts whose podman store you trust.'
  - A secret that exists without these labels (created outside this module) cannot be compared and is replaced once;
    from then on it is compared.
  - 'Rotation: a changed value, driver, driver option or label, or O(force=true), replaces the secret (removed, then
    created). Containers read a secret when they start; the result lists in RV(containers) the containers that use
    it, and a warning names them, so that they can be recreated or restarted.'
  - 'Check mode: the secret is inspected and the value compared, the result and the diff say what would change;
    nothing is created or removed.'
author:
  - podkit.containers maintainers (@podkit)
extends_documentation_fragment:
  - podkit.containers.auth
  - podkit.containers.attributes
  - podkit.containers.attributes.actiongroup_podman
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the secret's driver, driver options and labels, and of the value only whether it is set,
        unchanged or replaced.
  idempotent:
    support: full
    details:
      - With O(force=true) the secret is replaced on every run.
options:
  name:
    description:
      - Name of the secret.
    type: str
    required: true
  state:
    description:
      - V(present) — the secret exists and holds the value.
      - V(absent) — the secret does not exist. A secret that containers use is not removed unless O(force=true).
    type: str
    choices: [present, absent]
    default: present
  data:
    description:
      - The value of the secret (1 to 512000 bytes once UTF-8 encoded). Never logged.
      - Mutually exclusive with O(path); one of them is required with O(state=present).
    type: str
  path:
    description:
      - A file on the target whose content is the value. Read by the module, so the file may be readable by the
        remote user only.
      - Mutually exclusive with O(data).
    type: path
  driver:
    description:
      - The podman secret driver.
    type: str
    default: file
  driver_opts:
    description:
      - Options of the driver (C(--driver-opts)). Only the options given here are compared; podman adds its own
        (the C(file) driver's C(path)).
    type: dict
    default: {}
  labels:
    description:
      - Labels of the secret. Compared exactly (apart from the two labels of the module); a label added, changed or
        removed replaces the secret.
      - The labels C(io.podkit.secret.salt) and C(io.podkit.secret.hmac) are reserved.
    type: dict
    default: {}
  force:
    description:
      - With O(state=present), replace the secret even when nothing changed (rotation by hand).
      - With O(state=absent), remove the secret even though containers use it.
    type: bool
    default: false
  executable:
    description:
      - Path or name of the podman executable on the target.
    type: str
    default: podman
notes:
  - The registry options (O(username), O(password), O(auth_file), O(validate_certs), O(ca_cert), O(client_cert),
    O(client_key), O(insecure), O(registries_conf), O(timeout)) are accepted so that C(module_defaults) for
    C(group/podkit.containers.podman) reach this module; it talks to no registry and ignores them.
  - Podman 4.3 or later (secret labels).
seealso:
  - module: podkit.containers.container_state
  - name: podman-secret-create(1)
    description: The podman command this module runs.
    link: https://docs.podman.io/en/latest/markdown/podman-secret-create.1.html
'''

EXAMPLES = r'''
- name: The database password as a podman secret
  podkit.containers.secret:
    name: db-password
    data: "{{ vault_db_password }}"

- name: A secret from a file on the target, labelled
  podkit.containers.secret:
    name: tls-key
    path: /etc/pki/app/key.pem
    labels:
      app: web

- name: Rotate a secret and restart what uses it
  podkit.containers.secret:
    name: db-password
    data: "{{ vault_new_db_password }}"
  register: rotated

- name: Restart the containers that read it
  ansible.builtin.command: podman restart {{ item }}
  loop: "{{ rotated.containers }}"
  when: rotated.changed

- name: Remove it
  podkit.containers.secret:
    name: db-password
    state: absent
'''

RETURN = r'''
name:
  description: The secret's name.
  returned: always
  type: str
  sample: db-password
secret:
  description: The secret as podman records it (never the value nor its hash), null when it is absent. In check mode,
    what it would be (its O(name), O(driver), O(driver_opts), O(labels), C(id) null when it would be created).
  returned: always
  type: dict
  sample:
    name: db-password
    id: 2b1e53bd6d3b8e1d2a2f7bd21
    driver: file
    driver_opts: {path: /var/lib/containers/storage/secrets/filedriver}
    labels: {app: web}
containers:
  description: Names of the containers that use the secret, when it is replaced or removed (empty otherwise).
  returned: always
  type: list
  elements: str
  sample: [db]
actions:
  description: What was (in check mode, would be) done, in order.
  returned: always
  type: list
  elements: str
  sample: [remove, create]
reasons:
  description: Why the secret is created or replaced (V(missing), V(value changed), V(driver), V(labels), V(force), ...).
  returned: with O(state=present)
  type: list
  elements: str
  sample: [value changed]
'''

import gc

from ansible.module_utils.basic import AnsibleModule

# Everything imported so far lives until this short process exits; frozen, it is not rescanned by the garbage
# collector while podkit's module_utils are compiled and run (~15-20 ms per task, docs/performance.md).
gc.freeze()

from ansible_collections.podkit.containers.plugins.module_utils.common import AUTH_OPTIONS, command_runner, module_kwargs, run_module
from ansible_collections.podkit.containers.plugins.module_utils.usecases.secret import run


def main():
    module = AnsibleModule(**module_kwargs(dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        data=dict(type='str', no_log=True),
        path=dict(type='path'),
        driver=dict(type='str', default='file'),
        driver_opts=dict(type='dict', default={}),
        labels=dict(type='dict', default={}),
        force=dict(type='bool', default=False),
        executable=dict(type='str', default='podman'),
    ), groups=(AUTH_OPTIONS,), mutually_exclusive=[('data', 'path')], required_if=[('state', 'present', ('data', 'path'), True)]))
    # Bytes to podman's stdin: AnsibleModule.run_command appends a newline to text input.
    run_module(module, run, module.params, command_runner(module, binary=True), check_mode=module.check_mode)


if __name__ == '__main__':
    main()
