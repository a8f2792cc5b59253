#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: image_copy
short_description: Copy an image between registries, OCI layouts and archives, like C(skopeo copy)
version_added: 0.1.0
description:
  - Copies an image (or a multi-platform image) from O(src) to O(dest), where each side is a registry
    (C(docker://)), an OCI image layout directory (C(oci:)), an OCI layout tar (C(oci-archive:)), a
    C(docker save)/C(podman save) tar (C(docker-archive:)) or a C(dir:) directory.
  - Pure Python (C(requests)); needs neither podman nor skopeo on the target, so it runs in AWX execution environments.
  - Idempotent. The source's manifest (after any O(format) conversion) is compared with what the destination holds
    (a C(HEAD) on the destination tag for a registry, C(index.json) for an OCI layout, the archive's own index for
    archives); when they are equal nothing is transferred and the task reports no change. A registry that answers
    404 to that C(HEAD) is asked with C(GET) before the tag counts as absent (older Harbor proxy caches do this).
  - Blobs the destination already has are skipped, blobs in another repository of the same registry are mounted, and
    the rest are streamed from the source into the destination with their digest and size verified on the way
    (nothing is buffered whole in memory; registry to registry needs no temporary file). Interrupted downloads
    resume with HTTP C(Range). Manifests are written only after all their blobs are verified, instance manifests
    before their index, so a failed copy never leaves a manifest pointing at missing or wrong content.
  - Destination credentials are checked (an upload session is opened and cancelled) before any blob moves.
  - Nothing is left behind. Local destinations write every file to a temporary name (C(.tmp-*), and a staging
    directory C(.NAME.stage-*) next to an archive) that the writing run holds locked; a later run into the same
    target removes those an earlier, killed run left (never one a concurrent run is still writing). A failed copy into
    an C(oci:) or C(dir:) directory that did not exist removes what it created. When the answer to the manifest
    C(PUT) is lost (the connection resets after the registry stored it), a C(HEAD) decides, and the task succeeds
    when the destination holds the image.
  - Foreign layers (descriptors with C(urls), as in Windows base images; the Docker foreign and OCI
    non-distributable media types) are handled as C(skopeo copy) does. A registry or OCI layout destination keeps the
    descriptor as it is and does not receive the blob; a C(dir:) or C(docker-archive:) destination gets the blob,
    fetched from its C(urls) (falling back to the source). Those requests never carry registry credentials.
  - A registry with C(blocked = true) in registries.conf is neither read nor written, as podman refuses it.
  - Blobs are uploaded monolithically (one C(PUT) per blob). A registry that refuses that (HTTP 400, 405, 415 or
    501, as older Pulp behind Red Hat Satellite does) gets the distribution spec's chunked upload instead
    (C(POST), C(PATCH) chunks of 8 MiB with C(Content-Range), a closing C(PUT)) for the rest of the task.
  - In check mode the source and the destination are read, C(changed) says whether a copy would happen, and
    nothing is written or transferred.
options:
  src:
    description:
      - The image to copy, as C(TRANSPORT:DETAILS) — C(docker://[host[:port]/]path[:tag][@digest]),
        C(oci:DIR[:NAME]), C(oci-archive:FILE[:NAME]), C(docker-archive:FILE[:NAME:TAG]) (or C(:@INDEX)),
        C(dir:DIR).
      - Without a transport the value is a registry reference (C(docker://)). A registry reference without tag or
        digest means C(:latest).
    type: str
    required: true
  dest:
    description:
      - Where to copy it, with the same transports as O(src).
      - For C(oci:) and C(oci-archive:), C(NAME) becomes the C(org.opencontainers.image.ref.name) of the image in
        C(index.json); other images of an existing C(oci:) layout are kept. An archive is written to a temporary file
        next to it and renamed into place.
      - An OCI layout (C(oci:), C(oci-archive:)) holds OCI manifests only, so Docker v2s2 manifests are converted
        to OCI on the way in, as C(skopeo copy) does; their digests change (see O(preserve_digests)).
      - A C(docker-archive:) destination holds one image with its layers uncompressed (as C(podman load) expects);
        its name must carry a tag.
    type: str
    required: true
  multi_arch:
    description:
      - What to copy when O(src) is a multi-platform image (an OCI index or a Docker manifest list).
      - V(system) copies the instance for O(platform) only, as a single-platform image.
      - V(all) copies every instance and then the index, whose digest stays unless O(format) converts it.
      - V(index-only) copies only the index (the instances must already be at the destination).
    type: str
    choices: [system, all, index-only]
    default: system
  platform:
    description:
      - C(os/arch[/variant]) of the instance to copy with O(multi_arch=system), for example V(linux/arm64/v8).
      - Default, the platform of the target host.
    type: str
  format:
    description:
      - Convert the manifest(s) to OCI (V(oci)) or Docker v2 schema 2 (V(v2s2)), as C(skopeo copy --format) does.
      - The result is byte for byte what skopeo 1.9.3 writes for the same source, so a converted image gets the
        digest C(skopeo copy --format) gives it. Converting to V(oci) re-encodes the image config as an OCI config
        (Docker-only fields such as C(container_config) are dropped, so the config digest changes too); converting to
        V(v2s2) keeps the config blob. Layer blobs are copied byte for byte, so gzip layers stay gzip. An index becomes
        an OCI index or a Docker manifest list. Manifest digests change.
      - zstd layers and OCI artifacts cannot be expressed in V(v2s2); such a copy fails with a message.
      - A Docker schema 1 source (old quay.io and Red Hat tags, signed or not) is always converted, as skopeo converts it
        (its JWS signatures dropped, RV(notes) says so), to V(v2s2) unless O(format=oci); its layers are read once more
        to learn their sizes and uncompressed digests, which schema 1 does not record.
      - Default, keep the source's format.
    type: str
    choices: [oci, v2s2]
  preserve_digests:
    description:
      - Fail, before anything is written, when the copy would change a manifest digest (O(format) conversion,
        or a C(docker-archive:) destination, which stores layers uncompressed).
    type: bool
    default: false
  parallel:
    description:
      - Number of blobs transferred at the same time (threads).
    type: int
    default: 6
  retries:
    description:
      - Retries of a failed registry request or blob transfer (connection errors, HTTP 429 and 5xx) with backoff.
    type: int
    default: 3
  force:
    description:
      - Write the manifests even when the destination already holds the same digest. Blobs the destination has
        are still skipped.
    type: bool
    default: false
  src_username:
    description:
      - User name for a C(docker://) O(src), instead of O(username). With neither O(src_username)/O(src_password) nor
        O(username)/O(password), credentials come from O(auth_file) (containers-auth.json), else the source is read
        anonymously.
    type: str
  src_password:
    description:
      - Password or token for O(src_username), instead of O(password). Never logged.
    type: str
  dest_username:
    description:
      - User name for a C(docker://) O(dest), instead of O(username); as O(src_username).
    type: str
  dest_password:
    description:
      - Password or token for O(dest_username), instead of O(password). Never logged.
    type: str
  src_validate_certs:
    description:
      - Verify the TLS certificate of the source registry, instead of O(validate_certs) (whose default is V(true)).
        Prefer O(src_ca_cert) to V(false).
    type: bool
    aliases: [src_tls_verify]
  dest_validate_certs:
    description:
      - Verify the TLS certificate of the destination registry, instead of O(validate_certs) (whose default is
        V(true)). Prefer O(dest_ca_cert) to V(false).
    type: bool
    aliases: [dest_tls_verify]
  src_ca_cert:
    description:
      - PEM CA bundle to verify the source registry's certificate, instead of O(ca_cert).
    type: path
  dest_ca_cert:
    description:
      - PEM CA bundle to verify the destination registry's certificate, instead of O(ca_cert).
    type: path
  src_client_cert:
    description:
      - PEM client certificate for a source registry that requires mutual TLS, instead of O(client_cert).
        Use with O(src_client_key).
    type: path
  src_client_key:
    description:
      - PEM private key of O(src_client_cert), instead of O(client_key).
    type: path
  dest_client_cert:
    description:
      - PEM client certificate for a destination registry that requires mutual TLS, instead of O(client_cert).
        Use with O(dest_client_key).
    type: path
  dest_client_key:
    description:
      - PEM private key of O(dest_client_cert), instead of O(client_key).
    type: path
  src_insecure:
    description:
      - Allow plain http (and unverified TLS) for the source registry, like C(--src-tls-verify=false), instead of
        O(insecure) (whose default is V(false)).
      - A registry marked C(insecure = true) in registries.conf is treated the same way.
    type: bool
  dest_insecure:
    description:
      - Allow plain http (and unverified TLS) for the destination registry, like C(--dest-tls-verify=false), instead
        of O(insecure) (whose default is V(false)).
    type: bool
  registries_conf:
    description:
      - Path of a containers-registries.conf(5) file, read for C(insecure) and C(blocked) registries.
      - A file that is not valid TOML (or nested absurdly deep, or of the wrong types) fails the task with its path and
        line, as it does for podman; it is not ignored.
    type: path
  sign_by:
    description:
      - Sign the copied image with the GPG key of this fingerprint (simple signing, like C(skopeo copy --sign-by)).
      - The signature (an OpenPGP signed message of the C(atomic container signature) payload) is stored in the
        lookaside directory that registries.d configures for O(dest) (C(lookaside-staging), else C(lookaside), else
        C(/var/lib/containers/sigstore) for root), as C(<dir>/<repository>@sha256=<hex>/signature-N).
      - Signing happens before anything is pushed and the signature is stored before the manifest, so a failure (unknown
        key, wrong passphrase, unwritable lookaside directory) pushes no unsigned image.
      - Needs the C(gpg) binary on the target and a C(docker://) O(dest). With the destination already holding the image
        and a signature by this key and identity, nothing changes.
    type: str
  sign_by_sigstore_private_key:
    description:
      - Sign the copied image with this sigstore private key, like C(skopeo copy --sign-by-sigstore-private-key). The key is a
        PEM ECDSA P-256 key (PKCS#8 or SEC1) or an encrypted sigstore/cosign key
        (C(-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----)), whose passphrase comes from O(sign_passphrase_file).
      - The signature is stored in the registry as a sigstore attachment (tag C(sha256-<hex>.sig)), so registries.d must
        set C(use-sigstore-attachments) to C(true) for O(dest).
      - Needs the Python library C(cryptography) on the target.
    type: path
  sign_passphrase_file:
    description:
      - File whose first line is the passphrase of the O(sign_by) GPG key or the O(sign_by_sigstore_private_key) key.
        The passphrase reaches gpg only through a private temporary file, never a command line.
    type: path
  sign_identity:
    description:
      - The docker reference to put into the signature (C(critical.identity.docker-reference)); default the O(dest) reference.
    type: str
  remove_signatures:
    description:
      - Do not copy the signatures the source has (like C(skopeo copy --remove-signatures)).
      - By default a registry source's signatures (lookaside and, where registries.d enables them, sigstore attachments) are
        copied along to a registry destination; a copy that changes the manifest digest, or a destination that cannot hold
        signatures, fails instead unless this is V(true).
    type: bool
    default: false
  registries_d:
    description:
      - Directory of containers-registries.d(5) YAML files that say where signatures are stored (C(lookaside),
        C(lookaside-staging), C(use-sigstore-attachments)).
      - Default C(~/.config/containers/registries.d) when it exists, else C(/etc/containers/registries.d).
    type: path
  gpg_home:
    description:
      - GnuPG home directory (E(GNUPGHOME)) holding the O(sign_by) key. Default, gpg's own (C(~/.gnupg)).
    type: path
requirements:
  - requests
  - jsonschema
  - gpg (for O(sign_by))
  - cryptography (for O(sign_by_sigstore_private_key))
notes:
  - The registry options (O(username), O(password), O(validate_certs), O(ca_cert), O(client_cert), O(client_key),
    O(insecure)) apply to both sides, so C(module_defaults) for C(group/podkit.containers.registry) reach this module;
    the C(src_)/C(dest_) options override them for one side. O(auth_file), O(registries_conf) and O(timeout) hold for
    both sides.
extends_documentation_fragment:
  - podkit.containers.auth
  - podkit.containers.attributes
  - podkit.containers.attributes.actiongroup_registry
attributes:
  check_mode:
    support: full
    details: Reads both sides and reports whether a copy would happen; transfers and writes nothing.
  diff_mode:
    support: full
    details: The destination's digest before (or C(absent)) and after.
  idempotent:
    support: full
    details: A second run finds the destination holding the same digest and transfers nothing.
author:
  - podkit.containers maintainers (@podkit)
seealso:
  - module: podkit.containers.image_info
  - module: podkit.containers.registry_login
'''

EXAMPLES = r'''
- name: Mirror an image into a private registry
  podkit.containers.image_copy:
    src: docker://quay.io/podman/hello:latest
    dest: docker://registry.example.com:5000/mirror/hello:latest
    dest_username: robot
    dest_password: "{{ vault_registry_token }}"
    dest_ca_cert: /etc/pki/example-ca.pem

- name: Mirror every platform of a multi-platform image, keeping its index digest
  podkit.containers.image_copy:
    src: docker.io/library/busybox:1.36
    dest: registry.example.com:5000/mirror/busybox:1.36
    multi_arch: all
    preserve_digests: true

- name: Save an image for podman load on an air-gapped host
  podkit.containers.image_copy:
    src: registry.example.com:5000/team/app:1.4
    dest: docker-archive:/srv/transfer/app-1.4.tar:team/app:1.4

- name: Put the arm64 instance into an OCI layout, converted to OCI media types
  podkit.containers.image_copy:
    src: registry.example.com:5000/team/app:1.4
    dest: oci:/srv/layouts/app:1.4
    platform: linux/arm64/v8
    format: oci

- name: Copy and sign with a GPG key (simple signing; the signature goes to the lookaside registries.d configures)
  podkit.containers.image_copy:
    src: registry.example.com:5000/team/app:1.4
    dest: registry.example.com:5000/release/app:1.4
    sign_by: 28C310CD06E53038BFE65A1C6FF48F8497A6AFB3
    sign_passphrase_file: /etc/podkit/signing-passphrase
    gpg_home: /etc/podkit/gnupg
    registries_d: /etc/containers/registries.d

- name: Copy and sign with a sigstore key (stored as a sha256-<hex>.sig attachment in the registry)
  podkit.containers.image_copy:
    src: registry.example.com:5000/team/app:1.4
    dest: registry.example.com:5000/release/app:1.4
    sign_by_sigstore_private_key: /etc/podkit/sigstore.key
    sign_passphrase_file: /etc/podkit/sigstore-passphrase

- name: Would the copy change anything?
  podkit.containers.image_copy:
    src: oci-archive:/srv/transfer/app.tar:1.4
    dest: docker://registry.example.com:5000/team/app:1.4
  check_mode: true
  register: would_copy
'''

RETURN = r'''
src:
  description: The source as parsed (transport and normalized reference).
  returned: always
  type: str
  sample: docker://quay.io/podman/hello:latest
dest:
  description: The destination as parsed.
  returned: always
  type: str
  sample: docker://registry.example.com:5000/mirror/hello:latest
src_digest:
  description: Digest of the source's top-level manifest (the index digest for a multi-platform source).
  returned: always
  type: str
  sample: sha256:2f3f3a4d0b51e0ae2cee82e0fcce8ee7c1a8bd0f9b0f4c4b5e5cbd1e6cb0f1a2
dest_digest:
  description:
    - Digest of the top-level manifest at the destination after the copy (what it would be, in check mode).
    - For a C(docker-archive:) destination, which keeps no manifest, the image ID (config digest).
  returned: always
  type: str
  sample: sha256:7c3ba4f4d0e7c1b31f8e2b3a8d4bb6b70a5b1e3c7dc0f6de2f6bc0dce1fbb1e2
manifest_type:
  description: Media type of the top-level manifest written.
  returned: always
  type: str
  sample: application/vnd.oci.image.manifest.v1+json
instances:
  description: Digests of the image manifests written, in order (one, or every instance with O(multi_arch=all)).
  returned: always
  type: list
  elements: str
notes:
  description: What a conversion changed beyond the media types, e.g. that a Docker schema 1 source was converted and
    its JWS signatures dropped.
  returned: when there is something to say
  type: list
  elements: str
  sample: ['sha256:fc0c... was a Docker schema 1 manifest (application/vnd.docker.distribution.manifest.v1+prettyjws):
            converted to application/vnd.docker.distribution.manifest.v2+json as skopeo converts it; its JWS signatures,
            which sign only the schema 1 bytes, were dropped']
stats:
  description: What the copy moved.
  returned: always
  type: dict
  contains:
    blobs_copied:
      description: Blobs transferred.
      type: int
    blobs_skipped:
      description: Blobs the destination already had.
      type: int
    blobs_mounted:
      description: Blobs mounted from another repository of the same registry.
      type: int
    blobs_foreign:
      description: Foreign layers (descriptors with C(urls)) kept as references, not transferred.
      type: int
    bytes_transferred:
      description: Bytes of blob data read from the source and written to the destination.
      type: int
    seconds:
      description: Duration of the task's work.
      type: float
    requests:
      description: HTTP requests per method for each registry side (C(src), C(dest)).
      type: dict
  sample: {blobs_copied: 3, blobs_skipped: 0, blobs_mounted: 0, blobs_foreign: 0, bytes_transferred: 2731520, seconds: 0.41,
           requests: {src: {GET: 5}, dest: {HEAD: 5, POST: 4, PATCH: 3, PUT: 4, DELETE: 1}}}
signatures:
  description:
    - What happened to signatures. C(written) counts the simple (lookaside) and sigstore signatures stored (that would
      be stored, in check mode), copied from the source or made by this task.
  returned: always
  type: dict
  contains:
    digest:
      description: The manifest digest the signatures cover.
      type: str
    identity:
      description: The docker reference put into a new signature (V(null) without signing).
      type: str
    written:
      description: Signatures stored, by kind (C(simple), C(sigstore)).
      type: dict
    removed:
      description: Whether O(remove_signatures) dropped the source's signatures.
      type: bool
    sign_by:
      description: The O(sign_by) fingerprint, when given.
      type: str
  sample: {digest: "sha256:7c3b...", identity: registry.example.com:5000/release/app:1.4, written: {simple: 1, sigstore: 0},
           removed: false}
diff:
  description: The destination's digest before (C(absent) when it held nothing) and after.
  returned: always
  type: dict
  sample: {before: "absent\n", after: "sha256:7c3b...\n"}
'''

import gc

from ansible.module_utils.basic import AnsibleModule

# Everything imported so far lives until this short process exits; frozen, it is not rescanned by the garbage
# collector while podkit's module_utils are compiled and run (~15-20 ms per task, docs/performance.md).
gc.freeze()

from ansible_collections.podkit.containers.plugins.module_utils.common import (
    AUTH_OPTIONS, command_runner, module_kwargs, require_registry_libs, run_module,
)
from ansible_collections.podkit.containers.plugins.module_utils.usecases.image_copy import run


def main():
    module = AnsibleModule(**module_kwargs(dict(
        src=dict(type='str', required=True),
        dest=dict(type='str', required=True),
        multi_arch=dict(type='str', default='system', choices=['system', 'all', 'index-only']),
        platform=dict(type='str'),
        format=dict(type='str', choices=['oci', 'v2s2']),
        preserve_digests=dict(type='bool', default=False),
        parallel=dict(type='int', default=6),
        retries=dict(type='int', default=3),
        force=dict(type='bool', default=False),
        # The side options default to None: unset, the shared registry option of AUTH_OPTIONS applies
        # (RegistryOptions.from_params), with its default.
        src_username=dict(type='str'),
        src_password=dict(type='str', no_log=True),
        dest_username=dict(type='str'),
        dest_password=dict(type='str', no_log=True),
        src_validate_certs=dict(type='bool', aliases=['src_tls_verify']),
        dest_validate_certs=dict(type='bool', aliases=['dest_tls_verify']),
        src_ca_cert=dict(type='path'),
        dest_ca_cert=dict(type='path'),
        src_client_cert=dict(type='path'),
        src_client_key=dict(type='path', no_log=False),
        dest_client_cert=dict(type='path'),
        dest_client_key=dict(type='path', no_log=False),
        src_insecure=dict(type='bool'),
        dest_insecure=dict(type='bool'),
        sign_by=dict(type='str'),
        sign_by_sigstore_private_key=dict(type='path', no_log=False),
        sign_passphrase_file=dict(type='path', no_log=False),
        sign_identity=dict(type='str'),
        remove_signatures=dict(type='bool', default=False),
        registries_d=dict(type='path'),
        gpg_home=dict(type='path'),
    ), groups=(AUTH_OPTIONS,),
        required_together=[('src_username', 'src_password'), ('dest_username', 'dest_password'),
                           ('src_client_cert', 'src_client_key'), ('dest_client_cert', 'dest_client_key')],
        mutually_exclusive=[('sign_by', 'sign_by_sigstore_private_key')]))
    require_registry_libs(module)
    run_module(module, run, module.params, command_runner(module, binary=True), check_mode=module.check_mode)


if __name__ == '__main__':
    main()
