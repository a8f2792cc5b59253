# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sigstore signatures stored in the registry as attachments (internal; no stable API).

Facts from cosign's signature specification and containers-registries.d(5) ``use-sigstore-attachments``: the
signatures of manifest ``sha256:H`` live in the same repository under the tag ``sha256-H.sig``: an OCI image
manifest whose layers are the payloads (media type ``application/vnd.dev.cosign.simplesigning.v1+json``), each
with the annotation ``dev.cosignproject.cosign/signature`` = base64 of the DER signature. Adding a signature
rewrites that manifest with one more layer; layers already there are kept.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json

from ansible_collections.podkit.containers.plugins.module_utils.errors import ManifestError, NotFoundError
from ansible_collections.podkit.containers.plugins.module_utils.registry import manifest as mf

PAYLOAD_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json'
SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature'
MAX_PAYLOAD_SIZE = 4 * 1024 * 1024


def tag_for(digest):
    algorithm, dummy, hexpart = digest.partition(':')
    return '%s-%s.sig' % (algorithm, hexpart)


class Attachment(object):
    """One sigstore signature: ``payload`` bytes, ``signature`` (base64 text), ``annotations`` of its layer."""

    def __init__(self, payload, signature, annotations=None, media_type=PAYLOAD_MEDIA_TYPE):
        self.payload = payload
        self.signature = signature
        self.annotations = dict(annotations or {})
        self.annotations[SIGNATURE_ANNOTATION] = signature
        self.media_type = media_type

    @property
    def digest(self):
        return mf.digest_of(self.payload)

    def descriptor(self):
        return {'mediaType': self.media_type, 'digest': self.digest, 'size': len(self.payload), 'annotations': self.annotations}


def read(client, repository, digest):
    """(attachments, other_layers) of ``digest``; ([], []) when there is no ``sha256-H.sig`` tag.

    ``other_layers`` counts layers that are not signatures (attestations and such): kept on rewrite, ignored
    for verification.
    """
    try:
        manifest = client.get_manifest(repository, tag_for(digest))
    except NotFoundError:
        return [], []
    if manifest.is_index or not isinstance(manifest.data.get('layers'), list):
        raise ManifestError('the sigstore attachment %s:%s is not an image manifest with layers' % (repository, tag_for(digest)),
                            registry=client.registry, repository=repository)
    found = []
    others = []
    for layer in manifest.data['layers']:
        if not isinstance(layer, dict):
            continue
        annotations = layer.get('annotations') or {}
        if layer.get('mediaType') != PAYLOAD_MEDIA_TYPE or SIGNATURE_ANNOTATION not in annotations:
            others.append(layer)
            continue
        payload = client.get_blob_bytes(repository, layer['digest'], MAX_PAYLOAD_SIZE)
        found.append(Attachment(payload, annotations[SIGNATURE_ANNOTATION], annotations))
    return found, others


def _upload(client, repository, data):
    digest = mf.digest_of(data)
    if client.blob_exists(repository, digest) is None:
        client.upload_blob(repository, digest, len(data), lambda: io.BytesIO(data))
    return digest


def write(client, repository, digest, attachments):
    """Add ``attachments`` (skipping any already present with the same payload and signature) to the signature
    manifest of ``digest``; returns the number added."""
    existing, others = read(client, repository, digest)
    have = set((a.payload, a.signature) for a in existing)
    new = [a for a in attachments if (a.payload, a.signature) not in have]
    if not new:
        return 0
    layers = list(others) + [a.descriptor() for a in existing + new]
    for attachment in new:
        _upload(client, repository, attachment.payload)
    config = json.dumps({'architecture': '', 'os': '', 'config': {},
                         'rootfs': {'type': 'layers', 'diff_ids': [layer['digest'] for layer in layers]}},
                        sort_keys=True, separators=(',', ':')).encode('utf-8')
    config_digest = _upload(client, repository, config)
    manifest = {'schemaVersion': 2, 'mediaType': mf.OCI_MANIFEST,
                'config': {'mediaType': mf.OCI_CONFIG, 'digest': config_digest, 'size': len(config)},
                'layers': layers}
    raw = json.dumps(manifest, separators=(',', ':')).encode('utf-8')
    client.put_manifest(repository, tag_for(digest), raw, mf.OCI_MANIFEST)
    return len(new)
