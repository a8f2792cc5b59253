#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: volume
short_description: Manage a podman volume, like C(podman volume create) and C(podman volume rm)
version_added: 0.2.0
description:
  - Makes a podman volume exist with a driver, driver options (C(-o)) and labels, or removes it.
  - A volume holds data. When its driver, options or labels differ from the task, the task fails and names them;
    only with O(force=true) is it recreated (removed, then created empty). It is removed only with
    O(state=absent), and, while containers use it, only with O(force=true) (which removes those containers too).
  - 'Check mode: the volume and the containers that use it are inspected; the result and the diff say what would
    change, and a refusal fails as the real run would. Nothing is created or removed.'
author:
  - podkit.containers maintainers (@podkit)
notes:
  - The registry options (O(username), O(password), O(auth_file), O(validate_certs), O(ca_cert), O(client_cert),
    O(client_key), O(insecure), O(registries_conf), O(timeout)) are accepted so that C(module_defaults) for
    C(group/podkit.containers.podman) reach this module; it talks to no registry and ignores them.
extends_documentation_fragment:
  - podkit.containers.auth
  - podkit.containers.attributes
  - podkit.containers.attributes.actiongroup_podman
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  name:
    description:
      - Name of the volume.
    type: str
    required: true
  state:
    description:
      - V(present) — the volume exists with these settings.
      - V(absent) — the volume does not exist (its data is deleted).
    type: str
    choices: [present, absent]
    default: present
  driver:
    description:
      - The volume driver.
    type: str
    default: local
  options:
    description:
      - Driver options (C(podman volume create -o KEY=VALUE)), for example C(type), C(device), C(o) of the
        C(local) driver. Compared exactly.
    type: dict
    default: {}
  labels:
    description:
      - Labels of the volume. Compared exactly; a label added, changed or removed is drift (see O(force)).
    type: dict
    default: {}
  force:
    description:
      - Recreate the volume when its driver, options or labels drift (its data is lost), and recreate or remove it
        even though containers use it; those containers are removed with it.
    type: bool
    default: false
  executable:
    description:
      - Path or name of the podman executable on the target.
    type: str
    default: podman
seealso:
  - module: podkit.containers.container_state
  - name: podman-volume-create(1)
    description: The podman command this module runs.
    link: https://docs.podman.io/en/latest/markdown/podman-volume-create.1.html
'''

EXAMPLES = r'''
- name: The database's data
  podkit.containers.volume:
    name: db-data
    labels:
      app: shop

- name: A tmpfs volume
  podkit.containers.volume:
    name: scratch
    options:
      type: tmpfs
      device: tmpfs

- name: Delete the volume and its data (fails while a container uses it)
  podkit.containers.volume:
    name: db-data
    state: absent
'''

RETURN = r'''
name:
  description: The volume's name.
  returned: always
  type: str
  sample: db-data
volume:
  description: The volume as podman records it, null when absent. In check mode, what it would be.
  returned: always
  type: dict
  sample: {name: db-data, driver: local, options: {}, labels: {app: shop}, mountpoint: /var/lib/containers/storage/volumes/db-data/_data}
containers:
  description: Names of the containers that use the volume, when it is recreated or removed (empty otherwise).
  returned: always
  type: list
  elements: str
  sample: [db]
actions:
  description: What was (in check mode, would be) done, in order.
  returned: always
  type: list
  elements: str
  sample: [create]
reasons:
  description: Why the volume is created or recreated (V(missing), V(driver), V(options), V(labels)).
  returned: always
  type: list
  elements: str
  sample: [labels]
'''

import gc

from ansible.module_utils.basic import AnsibleModule

# Everything imported so far lives until this short process exits; frozen, it is not rescanned by the garbage
# collector while podkit's module_utils are compiled and run (~15-20 ms per task, docs/performance.md).
gc.freeze()

from ansible_collections.podkit.containers.plugins.module_utils.common import AUTH_OPTIONS, command_runner, module_kwargs, run_module
from ansible_collections.podkit.containers.plugins.module_utils.usecases.volume import run


def main():
    module = AnsibleModule(**module_kwargs(dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        driver=dict(type='str', default='local'),
        options=dict(type='dict', default={}),
        labels=dict(type='dict', default={}),
        force=dict(type='bool', default=False),
        executable=dict(type='str', default='podman'),
    ), groups=(AUTH_OPTIONS,)))
    run_module(module, run, module.params, command_runner(module), check_mode=module.check_mode)


if __name__ == '__main__':
    main()
