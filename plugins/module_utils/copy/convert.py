# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manifest format conversion for image_copy (internal; no stable API).

What ``skopeo copy --format oci|v2s2`` changes: the manifest's own media type, the config descriptor's media
type and each layer descriptor's media type. Blobs are never rewritten (gzip stays gzip), so layer and config
digests stay; manifest digests change. Unlike containers/image, the config blob is kept byte-identical
(containers/image re-serializes it through its OCI struct, dropping Docker-only fields); both runtimes accept it.

A conversion that would lose meaning (zstd layers, a ``subject`` or an artifact config in Docker v2s2) is refused
with a ConfigError rather than guessed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError
from ansible_collections.podkit.containers.plugins.module_utils.registry import manifest as mf

# Kept importable from here for existing callers; the constant lives with the other media types.
DOCKER_LAYER_TAR = mf.DOCKER_LAYER_TAR

FORMATS = ('oci', 'v2s2')

_TO_OCI_LAYER = {
    mf.DOCKER_LAYER: mf.OCI_LAYER_GZIP,
    mf.DOCKER_LAYER_TAR: mf.OCI_LAYER_TAR,
    mf.DOCKER_FOREIGN_LAYER: mf.OCI_LAYER_NONDIST_GZIP,
}
_TO_DOCKER_LAYER = {
    mf.OCI_LAYER_GZIP: mf.DOCKER_LAYER,
    mf.OCI_LAYER_TAR: mf.DOCKER_LAYER_TAR,
    mf.OCI_LAYER_NONDIST_GZIP: mf.DOCKER_FOREIGN_LAYER,
}
_DOCKER_LAYER_TYPES = (mf.DOCKER_LAYER, mf.DOCKER_LAYER_TAR, mf.DOCKER_FOREIGN_LAYER)
_OCI_LAYER_TYPES = (mf.OCI_LAYER_TAR, mf.OCI_LAYER_GZIP, mf.OCI_LAYER_ZSTD, mf.OCI_LAYER_NONDIST_TAR,
                    mf.OCI_LAYER_NONDIST_GZIP, mf.OCI_LAYER_NONDIST_ZSTD)


def dumps(data):
    """Compact JSON bytes (as Go's encoding/json writes manifests)."""
    return json.dumps(data, separators=(',', ':'), ensure_ascii=False).encode('utf-8')


def image_target_type(fmt):
    return {'oci': mf.OCI_MANIFEST, 'v2s2': mf.DOCKER_MANIFEST}.get(fmt)


def index_target_type(fmt):
    return {'oci': mf.OCI_INDEX, 'v2s2': mf.DOCKER_MANIFEST_LIST}.get(fmt)


def _descriptor(entry, media_type, keep_annotations):
    out = {'mediaType': media_type, 'digest': entry['digest'], 'size': entry['size']}
    if entry.get('urls'):
        out['urls'] = list(entry['urls'])
    if keep_annotations and entry.get('annotations'):
        out['annotations'] = dict(entry['annotations'])
    return out


def _layer_type(media_type, fmt, digest):
    if fmt == 'oci':
        if media_type in _OCI_LAYER_TYPES:
            return media_type
        if media_type in _TO_OCI_LAYER:
            return _TO_OCI_LAYER[media_type]
    else:
        if media_type in _DOCKER_LAYER_TYPES:
            return media_type
        if media_type in _TO_DOCKER_LAYER:
            return _TO_DOCKER_LAYER[media_type]
        if media_type in (mf.OCI_LAYER_ZSTD, mf.OCI_LAYER_NONDIST_ZSTD):
            raise ConfigError('layer %s is zstd-compressed, which Docker v2s2 cannot describe; copy with format: oci '
                              '(podkit never recompresses layers)' % digest, layer=digest)
    raise ConfigError('layer %s has media type %s, which has no %s equivalent' % (digest, media_type, fmt), layer=digest)


def convert_image(manifest, fmt):
    """(raw, media_type) of image ``manifest`` in ``fmt`` ('oci', 'v2s2' or None = unchanged)."""
    target = image_target_type(fmt)
    if target is None or manifest.media_type == target:
        return manifest.raw, manifest.media_type
    if manifest.is_index or manifest.is_schema1:
        raise ConfigError('cannot convert a %s manifest to %s' % (manifest.media_type, fmt))
    data = manifest.data
    config = manifest.config
    if target == mf.DOCKER_MANIFEST:
        if data.get('subject'):
            raise ConfigError('manifest %s has a subject (it refers to another image), which Docker v2s2 cannot describe; '
                              'use format: oci' % manifest.digest)
        if config.get('mediaType') not in (mf.OCI_CONFIG, mf.DOCKER_CONFIG):
            raise ConfigError('manifest %s is an artifact (config media type %s), which Docker v2s2 cannot describe; use format: oci'
                              % (manifest.digest, config.get('mediaType')))
        config_type = mf.DOCKER_CONFIG
    else:
        if config.get('mediaType') not in (mf.DOCKER_CONFIG, mf.OCI_CONFIG):
            raise ConfigError('manifest %s has config media type %s, which has no OCI equivalent'
                              % (manifest.digest, config.get('mediaType')))
        config_type = mf.OCI_CONFIG
    keep = target == mf.OCI_MANIFEST
    out = {
        'schemaVersion': 2,
        'mediaType': target,
        'config': _descriptor(config, config_type, keep),
        'layers': [_descriptor(layer, _layer_type(layer.get('mediaType'), fmt, layer.get('digest')), keep)
                   for layer in manifest.layers],
    }
    if keep and data.get('annotations'):
        out['annotations'] = dict(data['annotations'])
    return dumps(out), target


def convert_index(index, fmt, replaced=None):
    """(raw, media_type) of ``index`` in ``fmt`` with entries re-pointed by ``replaced`` ({old digest: descriptor}).

    Without a format change and with nothing re-pointed the original bytes are returned, so the digest stays.
    """
    replaced = dict((k, v) for k, v in (replaced or {}).items() if v['digest'] != k)
    target = index_target_type(fmt) or index.media_type
    if target == index.media_type and not replaced:
        return index.raw, index.media_type
    keep = target == mf.OCI_INDEX
    entries = []
    for raw_entry in index.data.get('manifests') or []:
        entry = dict(raw_entry)
        new = replaced.get(entry.get('digest'))
        if new is not None:
            entry.update(mediaType=new['mediaType'], digest=new['digest'], size=new['size'])
        elif fmt is not None:
            if entry.get('mediaType') in mf.IMAGE_TYPES and entry.get('mediaType') != image_target_type(fmt):
                raise ConfigError('index entry %s is not copied, so its media type cannot be converted to %s; use multi_arch: all'
                                  % (entry.get('digest'), fmt))
        if not keep:
            entry.pop('annotations', None)
            entry.pop('artifactType', None)
        entries.append(entry)
    out = {'schemaVersion': 2, 'mediaType': target, 'manifests': entries}
    if keep and index.data.get('annotations'):
        out['annotations'] = dict(index.data['annotations'])
    if not keep and index.data.get('subject'):
        raise ConfigError('index %s has a subject, which a Docker manifest list cannot describe; use format: oci' % index.digest)
    if keep and index.data.get('subject'):
        out['subject'] = index.data['subject']
    return dumps(out), target
