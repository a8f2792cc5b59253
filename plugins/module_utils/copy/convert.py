# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manifest format conversion for image_copy (internal; no stable API).

Byte for byte what ``skopeo copy --format oci|v2s2`` (skopeo 1.9.3, containers/image 5.23) writes, so a converted
image has the digest skopeo gives it:
  v2s2 -> OCI  the config is decoded into the OCI image config struct and encoded again (Docker-only fields such
               as ``container_config`` go; see gojson.py), the manifest is the OCI manifest struct with the new
               config descriptor and the layers' media types mapped;
  OCI -> v2s2  the config bytes stay (its descriptor's media type changes), the manifest is the Docker schema 2
               struct (``size`` before ``digest``; annotations go);
  lists        an index whose entries changed is re-encoded through containers/image's list structs.
Layer blobs are never rewritten (gzip stays gzip), so layer digests stay.

A conversion that would lose meaning (zstd layers, a ``subject`` or an artifact config in Docker v2s2) is refused
with a ConfigError rather than guessed, as skopeo refuses it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.podkit.containers.plugins.module_utils import documents
from ansible_collections.podkit.containers.plugins.module_utils.copy import gojson
from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError
from ansible_collections.podkit.containers.plugins.module_utils.registry import manifest as mf

# Kept importable from here for existing callers; the constant lives with the other media types.
DOCKER_LAYER_TAR = mf.DOCKER_LAYER_TAR

FORMATS = ('oci', 'v2s2')

# containers/image's conversion tables (internal/image/docker_schema2.go, oci.go): any other layer type is an error.
_TO_OCI_LAYER = {
    mf.DOCKER_LAYER: mf.OCI_LAYER_GZIP,
    mf.DOCKER_LAYER_TAR: mf.OCI_LAYER_TAR,
    mf.DOCKER_FOREIGN_LAYER: mf.OCI_LAYER_NONDIST_GZIP,
    mf.DOCKER_FOREIGN_LAYER_TAR: mf.OCI_LAYER_NONDIST_TAR,
}
_TO_DOCKER_LAYER = dict((v, k) for k, v in _TO_OCI_LAYER.items())


def dumps(data):
    """Compact JSON bytes (as Go's encoding/json writes manifests)."""
    return json.dumps(data, separators=(',', ':'), ensure_ascii=False).encode('utf-8')


def image_target_type(fmt):
    return {'oci': mf.OCI_MANIFEST, 'v2s2': mf.DOCKER_MANIFEST}.get(fmt)


def index_target_type(fmt):
    return {'oci': mf.OCI_INDEX, 'v2s2': mf.DOCKER_MANIFEST_LIST}.get(fmt)


def _decoded(kind, raw, what):
    try:
        return gojson.decode(kind, gojson.loads(raw, what, documents.MANIFEST))
    except gojson.GoTypeError as exc:
        raise ConfigError('cannot convert %s: %s has the wrong type (%s)' % (what, exc.path, exc.problem), json_path=exc.path)


def _layers(layers, table, fmt, where):
    out = []
    for layer in layers:
        media_type = layer.get('mediaType')
        if media_type not in table:
            if media_type in (mf.OCI_LAYER_ZSTD, mf.OCI_LAYER_NONDIST_ZSTD):
                raise ConfigError('layer %s is zstd-compressed, which Docker v2s2 cannot describe; copy with format: oci '
                                  '(podkit never recompresses layers)' % layer.get('digest'), layer=layer.get('digest'))
            raise ConfigError('layer %s of %s has media type %s, which has no %s equivalent'
                              % (layer.get('digest'), where, media_type or '(none)', fmt), layer=layer.get('digest'))
        out.append(dict(layer, mediaType=table[media_type]))
    return out


def _to_oci(manifest, read_config):
    where = 'manifest %s' % manifest.digest
    data = _decoded(gojson.SCHEMA2_MANIFEST, manifest.raw, where)
    config = data.get('config') or {}
    if config.get('mediaType') != mf.DOCKER_CONFIG:
        raise ConfigError('%s has config media type %s, which is not an image config; it cannot be converted to OCI'
                          % (where, config.get('mediaType')))
    layers = _layers(data.get('layers') or [], _TO_OCI_LAYER, 'OCI', where)
    config_raw = read_config(manifest.config)
    what = 'the image config %s of %s' % (config.get('digest'), where)
    try:
        new_config = gojson.round_trip(gojson.OCI_IMAGE_CONFIG, config_raw, what)
    except gojson.GoTypeError as exc:
        raise ConfigError('cannot convert %s to OCI: %s has the wrong type (%s)' % (what, exc.path, exc.problem),
                          json_path=exc.path)
    config_digest = mf.digest_of(new_config)
    out = {'schemaVersion': 2, 'mediaType': mf.OCI_MANIFEST,
           'config': {'mediaType': mf.OCI_CONFIG, 'digest': config_digest, 'size': len(new_config)},
           'layers': layers}
    return gojson.encode(gojson.OCI_MANIFEST, out), {config_digest: new_config}


def _to_docker(manifest):
    where = 'manifest %s' % manifest.digest
    data = _decoded(gojson.OCI_MANIFEST, manifest.raw, where)
    config = data.get('config') or {}
    if config.get('mediaType') != mf.OCI_CONFIG:
        raise ConfigError('%s is an artifact (config media type %s), which Docker v2s2 cannot describe; use format: oci'
                          % (where, config.get('mediaType')))
    if data.get('subject'):
        raise ConfigError('%s has a subject (it refers to another image), which Docker v2s2 cannot describe; '
                          'use format: oci' % where)
    out = {'schemaVersion': 2, 'mediaType': mf.DOCKER_MANIFEST,
           'config': dict(config, mediaType=mf.DOCKER_CONFIG),
           'layers': _layers(data.get('layers') or [], _TO_DOCKER_LAYER, 'Docker v2s2', where)}
    return gojson.encode(gojson.SCHEMA2_MANIFEST, out), {}


_V1_ID = re.compile(r'[a-f0-9]{64}\Z')
# Members of the top history entry that describe the v1 layer chain, not the image (ToSchema2Config drops them).
_V1_ONLY = ('id', 'parent', 'parent_id', 'layer_id', 'throwaway', 'Size')


def _schema1_history(manifest):
    """(fsLayers, history, decoded v1Compatibility entries), top layer first, as containers/image reads a schema 1
    manifest: a consecutive repeated layer ID is one layer, any other inconsistency an error."""
    where = 'schema 1 manifest %s' % manifest.digest
    data = _decoded(gojson.SCHEMA1_MANIFEST, manifest.raw, where)
    layers, history = list(data.get('fsLayers') or []), list(data.get('history') or [])
    if len(layers) != len(history) or not layers:
        raise ConfigError('cannot convert %s: it has %d fsLayers and %d history entries' % (where, len(layers), len(history)))
    compat = []
    for index, entry in enumerate(history):
        what = 'history entry %d of %s' % (index, where)
        try:
            compat.append(gojson.decode(gojson.SCHEMA1_V1_COMPATIBILITY,
                                        gojson.loads(entry.get('v1Compatibility') or '', what, documents.MANIFEST)))
        except gojson.GoTypeError as exc:
            raise ConfigError('cannot convert %s: %s has the wrong type (%s)' % (what, exc.path, exc.problem))
    for entry in compat:
        if not _V1_ID.match(entry.get('id', '')):
            raise ConfigError('cannot convert %s: layer ID %r is not 64 hex digits' % (where, entry.get('id', '')))
    if compat[-1].get('parent'):
        raise ConfigError('cannot convert %s: its base layer has a parent' % where)
    seen = set()
    for i, entry in enumerate(compat):
        if entry['id'] in seen and entry['id'] != compat[i - 1]['id']:
            raise ConfigError('cannot convert %s: layer ID %s appears more than once' % (where, entry['id']))
        seen.add(entry['id'])
    for i in range(len(compat) - 2, -1, -1):
        if compat[i]['id'] == compat[i + 1]['id']:
            del layers[i], history[i], compat[i]
        elif compat[i].get('parent', '') != compat[i + 1]['id']:
            raise ConfigError('cannot convert %s: layer %s names parent %s, not %s'
                              % (where, compat[i]['id'], compat[i].get('parent', ''), compat[i + 1]['id']))
    return layers, history, compat


def _schema1_config(top_raw, compat, diff_ids):
    """The Docker config containers/image builds from a schema 1 manifest (manifest.Schema1.ToSchema2Config): the top
    history entry as it is, minus the v1 chain members, with rootfs and history added, members sorted."""
    members = dict(gojson.raw_members(top_raw))
    for name in _V1_ONLY:
        members.pop(name, None)
    members['rootfs'] = gojson.encode(gojson.SCHEMA2_ROOTFS, {'type': 'layers', 'diff_ids': diff_ids}).decode('utf-8')
    history = [{'created': entry.get('created', gojson.ZERO_TIME), 'author': entry.get('author', ''),
                'created_by': ' '.join((entry.get('container_config') or {}).get('Cmd') or []),
                'comment': entry.get('comment', ''), 'empty_layer': entry.get('throwaway', False)}
               for entry in reversed(compat)]
    members['history'] = gojson.encode(gojson.slice_of(gojson.SCHEMA2_HISTORY), history).decode('utf-8')
    body = ','.join('%s:%s' % (gojson.quote(name), gojson.compact(members[name])) for name in sorted(members))
    return ('{%s}' % body).encode('utf-8')


def convert_schema1(manifest, fmt, measure_layer):
    """(raw, media_type, new_blobs) of Docker schema 1 ``manifest`` as Docker v2s2 (``fmt`` None or 'v2s2') or OCI.

    As skopeo converts it: the JWS signatures go (they sign the schema 1 bytes), throwaway layers leave the layer
    list, the config is built from the history. ``measure_layer(digest)`` returns (size, diff id, gzip?) of a layer
    blob; schema 1 knows neither, so the layers are read once here.
    """
    layers, history, compat = _schema1_history(manifest)
    descriptors, diff_ids = [], []
    for index in range(len(compat) - 1, -1, -1):
        if compat[index].get('throwaway'):
            continue
        digest = layers[index].get('blobSum', '')
        size, diff_id, gzipped = measure_layer(digest)
        # containers/image always writes the gzip type here; an uncompressed blob is described as what it is.
        descriptors.append({'mediaType': mf.DOCKER_LAYER if gzipped else mf.DOCKER_LAYER_TAR, 'size': size, 'digest': digest})
        diff_ids.append(diff_id)
    config = _schema1_config(history[0].get('v1Compatibility') or '{}', compat, diff_ids)
    raw = gojson.encode(gojson.SCHEMA2_MANIFEST, {
        'schemaVersion': 2, 'mediaType': mf.DOCKER_MANIFEST, 'layers': descriptors,
        'config': {'mediaType': mf.DOCKER_CONFIG, 'size': len(config), 'digest': mf.digest_of(config)}})
    converted = mf.parse_manifest(raw, mf.DOCKER_MANIFEST, what='converted manifest of %s' % manifest.digest)
    if fmt == 'oci':
        raw, blobs = _to_oci(converted, lambda desc: config)
        return raw, mf.OCI_MANIFEST, blobs
    return raw, mf.DOCKER_MANIFEST, {converted.config['digest']: config}


def convert_image(manifest, fmt, read_config=None):
    """(raw, media_type, new_blobs) of image ``manifest`` in ``fmt`` ('oci', 'v2s2' or None = unchanged).

    ``new_blobs`` ({digest: bytes}) holds what the converted manifest references and the source does not have (the
    re-encoded OCI config); ``read_config(descriptor)`` returns the source's config bytes.
    """
    target = image_target_type(fmt)
    if target is None or manifest.media_type == target:
        return manifest.raw, manifest.media_type, {}
    if manifest.is_index or manifest.is_schema1:
        raise ConfigError('cannot convert a %s manifest to %s' % (manifest.media_type, fmt))
    if target == mf.OCI_MANIFEST:
        raw, blobs = _to_oci(manifest, read_config)
    else:
        raw, blobs = _to_docker(manifest)
    return raw, target, blobs


def _platform(platform):
    # Only the fields both list types have: a Docker list's ``features`` goes.
    return dict((k, platform[k]) for k in ('os', 'architecture', 'os.features', 'os.version', 'variant') if k in platform)


def _list_entry_to_oci(entry):
    platform = entry.get('platform') or {}
    return {'mediaType': entry.get('mediaType', ''), 'size': entry.get('size', 0), 'digest': entry.get('digest', ''),
            'urls': entry.get('urls'),
            'platform': _platform(platform)}


def _oci_entry_to_list(entry):
    platform = entry.get('platform')
    if platform is None:
        # containers/image fills in the platform it runs on (runtime.GOOS/GOARCH).
        local = mf.local_platform()
        platform = {'os': local['os'], 'architecture': local['architecture']}
    out = {'mediaType': entry.get('mediaType', ''), 'size': entry.get('size', 0), 'digest': entry.get('digest', ''),
           'urls': entry.get('urls'),
           'platform': dict((k, platform.get(k)) for k in ('os', 'architecture', 'os.features', 'os.version', 'variant'))}
    return out


_LIST_STRUCT = {mf.DOCKER_MANIFEST_LIST: gojson.SCHEMA2_LIST, mf.OCI_INDEX: gojson.OCI_INDEX}


def convert_index(index, fmt, replaced=None):
    """(raw, media_type) of ``index`` in ``fmt`` with entries re-pointed by ``replaced`` ({old digest: descriptor}).

    As containers/image writes a list: decoded into its list struct, entries updated, converted to the other list
    type when asked, encoded; when that encodes to what the unchanged list encodes to, the original bytes are kept
    (so an untouched list keeps its digest).
    """
    replaced = dict((k, v) for k, v in (replaced or {}).items() if v['digest'] != k)
    target = index_target_type(fmt) or index.media_type
    if target == index.media_type and not replaced:
        return index.raw, index.media_type
    where = 'manifest list %s' % index.digest
    kind = _LIST_STRUCT[index.media_type]
    original = _decoded(kind, index.raw, where)
    updated = dict(original, manifests=[dict(e) for e in original.get('manifests') or []])
    for entry in updated['manifests']:
        new = replaced.get(entry.get('digest'))
        if new is not None:
            entry.update(mediaType=new['mediaType'], digest=new['digest'], size=new['size'])
        elif fmt is not None and entry.get('mediaType') in mf.IMAGE_TYPES and entry.get('mediaType') != image_target_type(fmt):
            raise ConfigError('index entry %s is not copied, so its media type cannot be converted to %s; use multi_arch: all'
                              % (entry.get('digest'), fmt))
    if target != index.media_type:
        if target == mf.OCI_INDEX:
            entries = [_list_entry_to_oci(e) for e in updated['manifests']]
        else:
            entries = [_oci_entry_to_list(e) for e in updated['manifests']]
        updated = {'schemaVersion': 2, 'mediaType': target, 'manifests': entries}
    raw = gojson.encode(_LIST_STRUCT[target], updated)
    if raw == gojson.encode(kind, original):
        return index.raw, index.media_type
    return raw, target
