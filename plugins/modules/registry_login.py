#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: registry_login
short_description: Log in to (or out of) a container registry, like C(podman login)
version_added: 0.1.0
description:
  - Verifies credentials against the registry (HTTP Basic or Bearer token authentication, whichever the
    registry asks for) and stores them in a containers-auth.json(5) file, the format C(podman), C(skopeo),
    C(buildah) and this collection read.
  - With O(state=absent), removes the stored credentials, like C(podman logout).
  - Pure Python (C(requests)); needs neither podman nor skopeo on the target.
  - The auth file is rewritten atomically (temporary file and rename) with mode C(0600), under a file lock so
    parallel tasks on one host lose no entry. Entries of other registries and C(credHelpers) are kept.
  - Wrong credentials fail the task and leave the file untouched. A corrupt auth file fails the task with the
    file's path and is left as it is.
  - In check mode the credentials are still verified against the registry, so the result tells the truth, but
    nothing is written.
options:
  registry:
    description:
      - The registry to log in to, as C(host[:port]); C(docker.io) for Docker Hub.
      - A repository path (C(host/namespace/repo)) stores credentials for that repository only;
        the most specific entry wins on lookup.
      - A leading C(https://) or C(http://) is ignored.
    type: str
    required: true
  username:
    description:
      - User name. Required with O(state=present).
    type: str
  password:
    description:
      - Password or access token for O(username). Required with O(state=present).
      - Never logged, never on a command line, never in the result or the diff.
    type: str
  auth_file:
    description:
      - The auth file to update.
      - Default as C(podman login) — E(REGISTRY_AUTH_FILE), else C(${XDG_RUNTIME_DIR}/containers/auth.json),
        else C(/run/containers/$UID/auth.json).
      - Files under C(/run) do not survive a reboot; a service that pulls at boot wants a path such as
        C(/etc/containers/auth.json) or C(~/.config/containers/auth.json).
    type: path
  state:
    description:
      - V(present) verifies and stores the credentials; V(absent) removes them.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - podkit.containers.auth
  - podkit.containers.attributes
  - podkit.containers.attributes.actiongroup_registry
requirements:
  - requests
author:
  - podkit.containers maintainers (@podkit)
seealso:
  - module: podkit.containers.image_info
  - name: containers-auth.json(5)
    description: The auth file format.
    link: https://github.com/containers/image/blob/main/docs/containers-auth.json.5.md
'''

EXAMPLES = r'''
- name: Log in to a private registry
  podkit.containers.registry_login:
    registry: registry.example.com
    username: deploy
    password: "{{ vault_registry_password }}"

- name: Store credentials where a boot-time pull finds them
  podkit.containers.registry_login:
    registry: registry.example.com:5000
    username: deploy
    password: "{{ vault_registry_password }}"
    auth_file: /etc/containers/auth.json
    ca_cert: /etc/pki/ca-trust/source/anchors/example-ca.pem

- name: Log out
  podkit.containers.registry_login:
    registry: registry.example.com
    state: absent
'''

RETURN = r'''
registry:
  description: The key the credentials are stored under.
  returned: always
  type: str
  sample: registry.example.com
auth_file:
  description: The auth file that was (or, in check mode, would be) updated.
  returned: always
  type: str
  sample: /run/user/1000/containers/auth.json
username:
  description: The user name stored (never the password).
  returned: when O(state=present)
  type: str
  sample: deploy
auth_scheme:
  description: How the registry authenticated the credentials (C(basic), C(bearer), or C(none) when it needs no authentication).
  returned: when O(state=present)
  type: str
  sample: bearer
'''

import gc

from ansible.module_utils.basic import AnsibleModule

# Everything imported so far lives until this short process exits; frozen, it is not rescanned by the garbage
# collector while podkit's module_utils are compiled and run (~15-20 ms per task, docs/performance.md).
gc.freeze()

from ansible_collections.podkit.containers.plugins.module_utils.common import (
    AUTH_OPTIONS, module_kwargs, registry_options, require_registry_libs, run_module,
)
from ansible_collections.podkit.containers.plugins.module_utils.usecases.registry_login import apply_login


def main():
    module = AnsibleModule(**module_kwargs(dict(
        registry=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    ), groups=(AUTH_OPTIONS,), required_if=[('state', 'present', ('username', 'password'))]))
    require_registry_libs(module, jsonschema_needed=False)
    params = module.params
    run_module(module, apply_login, params['registry'], registry_options(params),
               state=params['state'], check_mode=module.check_mode)


if __name__ == '__main__':
    main()
