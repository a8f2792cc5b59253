#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: image_pull
short_description: Pull an image into local podman storage, like C(podman pull), only when needed
version_added: 0.1.0
description:
  - Makes sure the local container storage (or an image archive, see O(dest)) holds the image O(name) names.
  - Whether to pull is decided before anything is pulled (O(policy)). With V(newer) the registry is asked for the
    tag's current digest with one C(HEAD) request, and that digest is looked up in the local image's C(RepoDigests)
    for the repository. A multi-platform image is compared by its index digest on both sides, a single-platform
    image by its manifest digest, so a pulled manifest list is not pulled again while the tag does not move.
  - An OCI artifact (a Helm chart, a cosign signature; see M(podkit.containers.image_info)) is not an image podman can
    store. When a pull is needed and the registry serves an OCI manifest, it is read once more (one C(GET)) and an
    artifact fails the task before podman runs, check mode too. Copy artifacts with M(podkit.containers.image_copy).
  - The pull itself is done by podman. Credentials reach podman only in a temporary auth file (mode 0600 in a
    private temporary directory, removed afterwards) passed with C(--authfile), never on the command line;
    O(ca_cert) (and O(client_cert)/O(client_key)) in a temporary C(--cert-dir).
  - 'Check mode: the local image is inspected and, unless O(policy=missing) finds the image locally, the registry is
    asked (C(HEAD)); C(changed) and RV(pull_needed) say whether a pull would happen and change the local image.
    Nothing is pulled or written.'
options:
  name:
    description:
      - The image, as C([docker://][host[:port]/]path[:tag][@digest]).
      - A short name such as C(app:1) is resolved with registries.conf (see O(registries_conf)) the way podman does it,
        C([aliases]) first, then each of C(unqualified-search-registries) in order (the first registry that has the
        image wins; with O(policy=missing), the first name already in local storage). RV(resolved_name) and
        RV(resolved_from) show the result. Without such configuration a short name means Docker Hub.
      - Mirrors configured in registries.conf are tried before the registry itself.
    type: str
    required: true
  tag:
    description:
      - The tag to pull, instead of writing it into O(name). Default C(latest) when O(name) has neither tag nor digest.
    type: str
  digest:
    description:
      - Pull this exact manifest (C(sha256:...)) instead of a tag. podman stores an image pulled by digest without a tag.
      - With O(policy=newer) an image already known locally by this digest is current without asking the registry.
    type: str
  platform:
    description:
      - The platform to choose from a multi-platform image, as C(os/arch[/variant]), for example V(linux/arm64/v8);
        passed to podman as C(--platform). Default, the platform of the target host.
      - With O(policy=newer) a local image for another platform counts as out of date.
    type: str
  policy:
    description:
      - V(missing) pulls only when there is no local image for the name; with one, the registry is never contacted,
        so it works offline.
      - V(newer) pulls when there is no local image or the registry's digest for the tag differs from the local one.
      - V(always) pulls every time and reports a change only when the local image ID for the name changed.
    type: str
    choices: [missing, newer, always]
    default: newer
  dest:
    description:
      - Where to put the image. Default, local container storage through podman.
      - V(oci:DIR[:REF]), V(oci-archive:FILE[:REF]) or V(docker-archive:FILE[:NAME:TAG]) write an image layout or
        archive with the collection's Python copy engine instead (as M(podkit.containers.image_copy) does; podman
        is not needed). O(policy) then compares with the digest stored there.
    type: str
  executable:
    description:
      - The podman executable, a name looked up in E(PATH) or a path.
    type: str
    default: podman
extends_documentation_fragment:
  - podkit.containers.auth
  - podkit.containers.signatures
  - podkit.containers.attributes
  - podkit.containers.attributes.actiongroup_registry_podman
attributes:
  check_mode:
    description: Can run in C(check_mode) and return a changed status prediction without modifying the target.
    support: full
    details: Asks the registry (one C(HEAD)) and reports whether a pull would happen; pulls nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
    support: full
    details: Before and after of the local image (ID and digest) for the name.
notes:
  - A short name is pulled under the fully qualified name it resolves to, so podman's own short-name prompt and
    alias cache are not involved.
  - O(insecure=true) and O(validate_certs=false) become C(--tls-verify=false). Registries marked C(insecure) in
    registries.conf are left to podman, which reads the same file (O(registries_conf) is passed to it as
    E(CONTAINERS_REGISTRIES_CONF)).
  - The registry is asked with one C(HEAD) for the manifest; a registry that answers 404 to it is asked again with
    C(GET) before the image counts as missing (older Harbor proxy caches serve manifests to C(GET) only).
author:
  - podkit.containers maintainers (@podkit)
seealso:
  - module: podkit.containers.image_info
  - module: podkit.containers.registry_login
  - module: podkit.containers.image_copy
  - module: podkit.containers.container_state
'''

EXAMPLES = r'''
- name: Keep the local image of a tag up to date (pulls only when the tag moved)
  podkit.containers.image_pull:
    name: registry.example.com/team/app
    tag: '1.4'

- name: Pull once, then never ask the registry again
  podkit.containers.image_pull:
    name: quay.io/podman/hello:latest
    policy: missing

- name: The arm64 instance of a multi-platform image, from a registry with a private CA and a login
  podkit.containers.image_pull:
    name: registry.example.com:5000/team/app:1.4
    platform: linux/arm64/v8
    ca_cert: /etc/pki/example-ca.pem
    username: deploy
    password: "{{ vault_registry_password }}"

- name: A short name, resolved through registries.conf search registries
  podkit.containers.image_pull:
    name: app:1.4
    registries_conf: /etc/containers/registries.conf.d/50-internal.conf
  register: pulled

- name: Show where it came from
  ansible.builtin.debug:
    msg: "{{ pulled.resolved_name }} ({{ pulled.resolved_from }}) {{ pulled.image.id }}"

- name: Into an OCI layout directory instead of container storage
  podkit.containers.image_pull:
    name: registry.example.com/team/app:1.4
    dest: oci:/srv/images/app:1.4
'''

RETURN = r'''
resolved_name:
  description: The fully qualified name the image is stored (or would be stored) under, C(registry/path:tag) or C(registry/path@digest).
  returned: always
  type: str
  sample: registry.example.com/team/app:1.4
resolved_from:
  description: How a short O(name) was resolved (C(alias), C(search) or C(default)); absent for a fully qualified name.
  returned: when O(name) is a short name
  type: str
  sample: search
policy:
  description: The O(policy) applied.
  returned: always
  type: str
  sample: newer
pulled:
  description: Whether a pull ran (always V(false) in check mode).
  returned: always
  type: bool
  sample: true
pull_needed:
  description: Whether O(policy) called for a pull (in check mode, whether one would run).
  returned: always
  type: bool
  sample: true
remote_digest:
  description:
    - The digest the registry serves for the name (the index digest for a multi-platform image).
    - V(null) when the registry was not asked (O(policy=missing) with a local image).
  returned: always
  type: str
  sample: sha256:0e1c1002184c8bd1b564e07a1509ffd060701fdb10903fefcaffd9f053dd10f2
local_digest_before:
  description:
    - The local image's digest before the task, V(null) without a local image. When the local image is known by
      RV(remote_digest) it is that digest, otherwise the digest podman reports for the image.
    - With O(dest), the digest stored there.
  returned: always
  type: str
  sample: sha256:78cd5e80ea179e8e3b16ba32f103d81b352f61407febd19fd635ec8ac54b382f
image:
  description: The local image for the name after the task (before it, in check mode); V({}) when there is none.
  returned: always
  type: dict
  contains:
    id:
      description: Image ID.
      type: str
      sample: 5b763630e414e6fc21d451523f25e55e96bd96b74057798b5b80fb25ce4f5abc
    digest:
      description: RV(remote_digest) when the image is known by it, otherwise podman's digest for the image (with O(dest), the stored digest).
      type: str
    repo_digests:
      description: The image's C(RepoDigests) as podman reports them.
      type: list
      elements: str
    repo_tags:
      description: The image's C(RepoTags).
      type: list
      elements: str
    os:
      description: Operating system of the image.
      type: str
    architecture:
      description: Architecture of the image.
      type: str
signatures:
  description: The signatures that satisfied O(signature_policy), one per requirement (C(type) simple or sigstore,
    C(key) the GPG fingerprint for simple signatures, C(identity), C(digest)).
  returned: when the policy required signatures and a pull was (or would be) done
  type: list
  elements: dict
dest:
  description: The O(dest) written to.
  returned: when O(dest) is set
  type: str
  sample: oci:/srv/images/app:1.4
diff:
  description: Before and after of the local image (C(name), C(id), C(digest)); in check mode C(id) after a predicted pull is C((to be pulled)).
  returned: when diff mode is on
  type: dict
'''

import gc

from ansible.module_utils.basic import AnsibleModule

# Everything imported so far lives until this short process exits; frozen, it is not rescanned by the garbage
# collector while podkit's module_utils are compiled and run (~15-20 ms per task, docs/performance.md).
gc.freeze()

from ansible_collections.podkit.containers.plugins.module_utils.common import (
    AUTH_OPTIONS, SIGNATURE_OPTIONS, command_runner, module_kwargs, require_registry_libs, run_module,
)
from ansible_collections.podkit.containers.plugins.module_utils.usecases.image_pull import POLICIES, run


def main():
    module = AnsibleModule(**module_kwargs(dict(
        name=dict(type='str', required=True),
        tag=dict(type='str'),
        digest=dict(type='str'),
        platform=dict(type='str'),
        policy=dict(type='str', default='newer', choices=list(POLICIES)),
        dest=dict(type='str'),
        executable=dict(type='str', default='podman'),
    ), groups=(AUTH_OPTIONS, SIGNATURE_OPTIONS), mutually_exclusive=[('tag', 'digest')]))
    require_registry_libs(module)
    run_module(module, run, module.params, command_runner(module), command_runner(module, binary=True), check_mode=module.check_mode)


if __name__ == '__main__':
    main()
