#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: image_info
short_description: Inspect an image in a registry, like C(skopeo inspect)
version_added: 0.1.0
description:
  - Reads an image's manifest and configuration from a registry and returns its digest, tags, creation time,
    platform, labels, environment and layers — the fields of C(skopeo inspect docker://NAME).
  - For a multi-platform image (an OCI index or Docker manifest list) returns the index digest, the list of
    per-platform manifests, and the details of the instance for O(platform) (default, the target's platform).
  - An OCI artifact (a Helm chart, a cosign signature; a manifest with an C(artifactType) or a config that is not an
    image config) is reported as one (RV(artifact), RV(artifact_type), its layers) where C(skopeo inspect) fails on it.
  - Pure Python (C(requests)); needs neither podman nor skopeo on the target. Manifests are verified against
    their digest and validated against the OCI image-spec schemas before anything is returned.
  - Only reads; in check mode it runs as usual.
options:
  name:
    description:
      - The image, as a reference C([docker://][host[:port]/]path[:tag][@digest]).
      - A short name such as C(nginx) is resolved with registries.conf (C([aliases]), then
        C(unqualified-search-registries)); without that configuration it means C(docker.io/library/nginx).
    type: str
    required: true
  platform:
    description:
      - The platform whose instance to inspect in a multi-platform image, as C(os/arch[/variant]),
        for example V(linux/arm64/v8).
      - Default, the platform of the target host.
    type: str
  raw:
    description:
      - Also return the manifest exactly as the registry serves it (parsed JSON), in RV(manifest), and for an index
        the index itself in RV(index).
    type: bool
    default: false
  tags:
    description:
      - List the repository's tags in RV(repo_tags) (one more request per 100 tags, or more with pagination).
      - Set to V(false) to skip it, like C(skopeo inspect --no-tags).
      - A registry that forbids listing the tags (HTTP 403, for example AWS ECR without C(ecr:ListImages)) leaves
        RV(repo_tags) empty with a warning, as C(skopeo inspect) does.
    type: bool
    default: true
  registries_d:
    description:
      - Directory of containers-registries.d(5) files saying where signatures are, for RV(signatures). Default
        C(~/.config/containers/registries.d) when it exists, else C(/etc/containers/registries.d).
    type: path
extends_documentation_fragment:
  - podkit.containers.auth
  - podkit.containers.attributes
  - podkit.containers.attributes.actiongroup_registry
attributes:
  check_mode:
    description: Can run in C(check_mode) and return a changed status prediction without modifying the target.
    support: full
    details: The module only reads; it behaves the same in check mode.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
    support: none
    details: Nothing changes, so there is nothing to diff.
author:
  - podkit.containers maintainers (@podkit)
seealso:
  - module: podkit.containers.registry_login
  - module: podkit.containers.image_copy
'''

EXAMPLES = r'''
- name: Inspect an image
  podkit.containers.image_info:
    name: registry.access.redhat.com/ubi9/nodejs-18
  register: ubi

- name: Show its digest and labels
  ansible.builtin.debug:
    msg: "{{ ubi.digest }} {{ ubi.labels }}"

- name: Inspect the arm64 instance of a multi-platform image in a private registry
  podkit.containers.image_info:
    name: registry.example.com:5000/team/app:1.4
    platform: linux/arm64/v8
    ca_cert: /etc/pki/example-ca.pem
    tags: false

- name: Ad-hoc, as a one-liner
  ansible.builtin.command: ansible localhost -m podkit.containers.image_info -a name=quay.io/podman/hello
  changed_when: false
'''

RETURN = r'''
name:
  description: The fully qualified reference that was inspected (after short-name resolution).
  returned: always
  type: str
  sample: docker.io/library/nginx:latest
resolved_from:
  description: How a short name was resolved (C(alias), C(search) or C(default)); absent for a fully qualified name.
  returned: when O(name) is a short name
  type: str
  sample: search
digest:
  description: Digest of the manifest the registry serves for O(name) (the index digest for a multi-platform image), as C(skopeo inspect) reports it.
  returned: always
  type: str
  sample: sha256:0f0b1c3bd3a0ed4e6a0b6a3d0bd42b56cfc2e8d7b7f4e3b5a1f4f2a8f0f6d2c1
media_type:
  description: Media type of that manifest.
  returned: always
  type: str
  sample: application/vnd.oci.image.index.v1+json
manifest_digest:
  description: Digest of the platform instance's manifest (equal to RV(digest) for a single-platform image).
  returned: always
  type: str
  sample: sha256:4c0fdd6d4b2f0a5ab9b3eb67e2c8f8b3c23b5d1b16f4a1d3a8c2a3c8e1f0b7a2
manifest_media_type:
  description: Media type of the platform instance's manifest.
  returned: always
  type: str
  sample: application/vnd.oci.image.manifest.v1+json
artifact:
  description:
    - Whether the manifest is an OCI artifact (a Helm chart, a cosign signature, an SBOM...) rather than a container
      image; it declares an C(artifactType), or its config is not an image config. An artifact has no architecture,
      environment or labels; RV(artifact_type), RV(config_media_type) and the layers say what it holds.
  returned: always
  type: bool
  sample: false
artifact_type:
  description: The artifact's C(artifactType), else its config media type.
  returned: when RV(artifact) is true
  type: str
  sample: application/vnd.cncf.helm.config.v1+json
config_media_type:
  description: The media type of the artifact's config descriptor.
  returned: when RV(artifact) is true
  type: str
  sample: application/vnd.cncf.helm.config.v1+json
annotations:
  description: The artifact manifest's annotations.
  returned: when RV(artifact) is true and the manifest has annotations
  type: dict
  sample: {org.opencontainers.image.title: mychart}
subject:
  description: The digest of the manifest the artifact refers to (its C(subject)), e.g. the image a signature is for.
  returned: when RV(artifact) is true and the manifest has a subject
  type: str
  sample: sha256:4c0fdd6d4b2f0a5ab9b3eb67e2c8f8b3c23b5d1b16f4a1d3a8c2a3c8e1f0b7a2
repo_tags:
  description: Tags of the repository (empty when O(tags=false)).
  returned: always
  type: list
  elements: str
  sample: [latest, '1.25']
created:
  description: Creation time from the image configuration.
  returned: when the configuration has it
  type: str
  sample: '2026-10-02T11:22:33.123456789Z'
docker_version:
  description: The C(docker_version) of the configuration, when present.
  returned: when the configuration has it
  type: str
  sample: 20.10.7
architecture:
  description: Architecture from the image configuration (null for an artifact).
  returned: always
  type: str
  sample: amd64
os:
  description: Operating system from the image configuration (null for an artifact).
  returned: always
  type: str
  sample: linux
variant:
  description: Architecture variant, when the image has one.
  returned: when the configuration or index has it
  type: str
  sample: v8
labels:
  description: Labels of the image configuration.
  returned: always
  type: dict
  sample: {org.opencontainers.image.version: '1.2'}
env:
  description: Environment of the image configuration (C(KEY=value) strings).
  returned: always
  type: list
  elements: str
  sample: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']
layers:
  description: Layer digests, base layer first.
  returned: always
  type: list
  elements: str
  sample: ['sha256:2b4f1c1c4d2b7f5c5e2a8c0d1f3e4a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5']
layers_data:
  description: Layer descriptors, base layer first.
  returned: always
  type: list
  elements: dict
  contains:
    digest:
      description: Layer digest.
      type: str
    size:
      description: Compressed size in bytes.
      type: int
    media_type:
      description: Layer media type.
      type: str
    annotations:
      description: Descriptor annotations, when present.
      type: dict
manifests:
  description: For a multi-platform image, its instances.
  returned: when O(name) points to an index or manifest list
  type: list
  elements: dict
  contains:
    digest:
      description: Manifest digest of the instance.
      type: str
    media_type:
      description: Media type of the instance's manifest.
      type: str
    size:
      description: Size of the instance's manifest in bytes.
      type: int
    platform:
      description: C(os/architecture[/variant]) of the instance.
      type: str
signatures:
  description:
    - The signatures stored for the image's top-level digest RV(digest), read but not verified (no keys are needed;
      M(podkit.containers.image_pull) with a signature policy verifies them). Simple signatures come from the lookaside
      that registries.d (O(registries_d)) configures, sigstore signatures from C(sha256-<hex>.sig) attachments where
      registries.d sets C(use-sigstore-attachments).
  returned: always
  type: list
  elements: dict
  contains:
    type:
      description: V(simple) (OpenPGP, lookaside) or V(sigstore) (attachment).
      type: str
    index:
      description: Position (C(signature-N) for simple signatures, the layer for sigstore ones).
      type: int
    digest:
      description: The manifest digest the signature says it covers.
      type: str
    identity:
      description: The docker reference in the signature.
      type: str
    key_id:
      description: The OpenPGP key ID of a simple signature's issuer.
      type: str
    fingerprint:
      description: The OpenPGP fingerprint of a simple signature's issuer, when the signature names it.
      type: str
    error:
      description: Why the signature could not be read, for a malformed one.
      type: str
  sample: [{type: simple, index: 1, digest: "sha256:45c7...", identity: "registry.example.com/team/app:1.4",
            key_id: 6FF48F8497A6AFB3, fingerprint: 28C310CD06E53038BFE65A1C6FF48F8497A6AFB3}]
manifest:
  description: The platform instance's manifest as the registry serves it.
  returned: when O(raw=true)
  type: dict
index:
  description: The index (manifest list) as the registry serves it.
  returned: when O(raw=true) and O(name) points to an index
  type: dict
config:
  description: The image configuration blob.
  returned: when O(raw=true)
  type: dict
'''

import gc

from ansible.module_utils.basic import AnsibleModule

# Everything imported so far lives until this short process exits; frozen, it is not rescanned by the garbage
# collector while podkit's module_utils are compiled and run (~15-20 ms per task, docs/performance.md).
gc.freeze()

from ansible_collections.podkit.containers.plugins.module_utils.common import (
    AUTH_OPTIONS, module_kwargs, registry_options, require_registry_libs, run_module,
)
from ansible_collections.podkit.containers.plugins.module_utils.usecases.image_info import inspect_image


def main():
    module = AnsibleModule(**module_kwargs(dict(
        name=dict(type='str', required=True),
        platform=dict(type='str'),
        raw=dict(type='bool', default=False),
        tags=dict(type='bool', default=True),
        registries_d=dict(type='path'),
    ), groups=(AUTH_OPTIONS,)))
    require_registry_libs(module)
    params = module.params
    run_module(module, inspect_image, params['name'], registry_options(params),
               platform=params['platform'], raw=params['raw'], tags=params['tags'], registries_d=params['registries_d'])


if __name__ == '__main__':
    main()
