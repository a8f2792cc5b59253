#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: network
short_description: Manage a podman network, like C(podman network create) and C(podman network rm)
version_added: 0.2.0
description:
  - Makes a podman network exist with a driver, subnet and gateway, C(internal), DNS, labels and driver options, or
    removes it.
  - Settings the task leaves unset (O(subnet), O(gateway), O(dns)) are podman's choice and not compared.
  - A network that differs from the task is recreated (removed, then created), and a network that containers use is
    neither recreated nor removed unless O(force=true), which removes those containers too.
  - 'Check mode: the network and its containers are inspected; the result and diff say what would change, a refusal
    fails as the real run would, nothing is created or removed.'
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
      - Name of the network.
    type: str
    required: true
  state:
    description:
      - V(present) — the network exists with these settings; V(absent) — it does not.
    type: str
    choices: [present, absent]
    default: present
  driver:
    description:
      - The network driver (V(bridge), V(macvlan), V(ipvlan)).
    type: str
    default: bridge
  subnet:
    description:
      - The subnet in CIDR notation; unset, podman picks a free one.
    type: str
  gateway:
    description:
      - The gateway address in O(subnet).
    type: str
  internal:
    description:
      - Restrict external access from the network.
    type: bool
    default: false
  dns:
    description:
      - Whether the network's DNS server (aardvark-dns on netavark) answers container names. Unset, podman's default.
    type: bool
  labels:
    description:
      - Labels of the network; compared exactly.
    type: dict
    default: {}
  options:
    description:
      - Driver options (C(-o KEY=VALUE)), for example C(mtu). Only the options given are compared.
    type: dict
    default: {}
  force:
    description:
      - Recreate or remove the network even though containers use it; those containers are removed with it.
    type: bool
    default: false
  executable:
    description:
      - Path or name of the podman executable on the target.
    type: str
    default: podman
seealso:
  - module: podkit.containers.container_state
  - name: podman-network-create(1)
    description: The podman command this module runs.
    link: https://docs.podman.io/en/latest/markdown/podman-network-create.1.html
'''

EXAMPLES = r'''
- name: A network the web and db containers share
  podkit.containers.network:
    name: shop
    subnet: 10.89.10.0/24
    gateway: 10.89.10.1
    labels:
      app: shop

- name: Remove it (fails while containers use it)
  podkit.containers.network:
    name: shop
    state: absent
'''

RETURN = r'''
name:
  description: The network's name.
  returned: always
  type: str
  sample: shop
network:
  description: The network's settings as podman reports them, null when absent. In check mode, what they would be.
  returned: always
  type: dict
  sample: {name: shop, driver: bridge, subnet: 10.89.10.0/24, gateway: 10.89.10.1, internal: false, dns: true, labels: {}, options: {}}
containers:
  description: Names of the containers that use the network, when it is recreated or removed (empty otherwise).
  returned: always
  type: list
  elements: str
  sample: [web]
actions:
  description: What was (in check mode, would be) done, in order.
  returned: always
  type: list
  elements: str
  sample: [create]
reasons:
  description: Why the network is created or recreated (V(missing), V(subnet), V(internal), V(labels), ...).
  returned: always
  type: list
  elements: str
  sample: [internal]
'''

import gc

from ansible.module_utils.basic import AnsibleModule

# Everything imported so far lives until this short process exits; frozen, it is not rescanned by the garbage
# collector while podkit's module_utils are compiled and run (~15-20 ms per task, docs/performance.md).
gc.freeze()

from ansible_collections.podkit.containers.plugins.module_utils.common import AUTH_OPTIONS, command_runner, module_kwargs, run_module
from ansible_collections.podkit.containers.plugins.module_utils.usecases.network import run


def main():
    module = AnsibleModule(**module_kwargs(dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        driver=dict(type='str', default='bridge'),
        subnet=dict(type='str'),
        gateway=dict(type='str'),
        internal=dict(type='bool', default=False),
        dns=dict(type='bool'),
        labels=dict(type='dict', default={}),
        options=dict(type='dict', default={}),
        force=dict(type='bool', default=False),
        executable=dict(type='str', default='podman'),
    ), groups=(AUTH_OPTIONS,)))
    run_module(module, run, module.params, command_runner(module), check_mode=module.check_mode)


if __name__ == '__main__':
    main()
