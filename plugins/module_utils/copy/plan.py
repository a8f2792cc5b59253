# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The copy plan (internal; no stable API): which manifests get written, in which form, with which blobs.

Built from the source's manifests alone, before the destination is touched, so check mode, idempotency and
``preserve_digests`` all decide on the exact bytes a copy would write.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.podkit.containers.plugins.module_utils.copy.convert import convert_image, convert_index, convert_schema1
from ansible_collections.podkit.containers.plugins.module_utils.copy.transports import decompressed
from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError, ManifestError
from ansible_collections.podkit.containers.plugins.module_utils.registry import manifest as mf

MULTI_ARCH = ('system', 'all', 'index-only')


class ImagePlan(object):
    """One image manifest to write: ``raw``/``media_type``/``digest`` as written, ``source`` the source Manifest.

    ``new_blobs`` ({digest: bytes}): blobs the conversion made (an OCI config re-encoded from a Docker one), which the
    source does not hold.
    """

    def __init__(self, source, raw, media_type, is_top, new_blobs=None):
        self.source = source
        self.raw = raw
        self.media_type = media_type
        self.digest = mf.digest_of(raw)
        self.is_top = is_top
        self.new_blobs = dict(new_blobs or {})
        # What a result should tell about this manifest's conversion (schema 1), or None.
        self.note = None
        parsed = mf.parse_manifest(raw, media_type, what='converted manifest of %s' % source.digest)
        self.config = parsed.config
        self.layers = parsed.layers

    @property
    def descriptor(self):
        return {'mediaType': self.media_type, 'digest': self.digest, 'size': len(self.raw)}

    def blobs(self):
        """Config first, then layers; ``kind`` tells a destination which is which, ``data`` holds a new blob's bytes."""
        out = [dict(self.config, kind='config')]
        out.extend(dict(layer, kind='layer') for layer in self.layers)
        for blob in out:
            if blob['digest'] in self.new_blobs:
                blob['data'] = self.new_blobs[blob['digest']]
        return out


class CopyPlan(object):
    """``images`` in write order, then the optional ``index`` (raw, media_type, digest)."""

    def __init__(self, source_top, images, index=None):
        self.source_top = source_top
        self.images = images
        self.index = index

    @property
    def top_digest(self):
        if self.index is not None:
            return self.index[2]
        return self.images[0].digest

    @property
    def top_media_type(self):
        if self.index is not None:
            return self.index[1]
        return self.images[0].media_type

    @property
    def notes(self):
        return [image.note for image in self.images if image.note]

    def changed_digests(self):
        """(source digest, written digest) pairs that differ: what preserve_digests forbids."""
        pairs = [(image.source.digest, image.digest) for image in self.images]
        if self.index is not None:
            pairs.append((self.source_top.digest, self.index[2]))
        return [(a, b) for a, b in pairs if a != b]

    def blobs(self):
        """Unique blobs of all images, in first-use order."""
        seen = set()
        out = []
        for image in self.images:
            for blob in image.blobs():
                if blob['digest'] not in seen:
                    seen.add(blob['digest'])
                    out.append(blob)
        return out


def _check_image(manifest, where):
    if manifest.is_index:
        raise ManifestError('%s is a manifest list inside a manifest list; nested indexes are not supported' % where)
    config = manifest.config or {}
    if not manifest.is_schema1 and not config.get('digest'):
        raise ManifestError('%s has no config descriptor' % where)


def _measure(source, digest):
    """(size, diff id, gzip?) of layer blob ``digest``: read (verified) and decompressed once."""
    size = [0]
    head = []

    def counted():
        for chunk in source.blob_chunks({'digest': digest, 'size': None}):
            if not head:
                head.append(chunk[:2])
            size[0] += len(chunk)
            yield chunk

    hasher = mf.hasher_for('sha256:')
    for chunk in decompressed(counted()):
        hasher.update(chunk)
    return size[0], 'sha256:' + hasher.hexdigest(), bool(head) and head[0] == b'\x1f\x8b'


def _image(source, manifest, fmt, is_top):
    if manifest.is_schema1:
        # podkit writes no schema 1: without a format it becomes Docker v2s2, as skopeo converts it for a registry
        # that refuses schema 1 (distribution's default).
        raw, media_type, new_blobs = convert_schema1(manifest, fmt, lambda digest: _measure(source, digest))
        image = ImagePlan(manifest, raw, media_type, is_top, new_blobs)
        image.note = ('%s was a Docker schema 1 manifest (%s): converted to %s as skopeo converts it%s'
                      % (manifest.digest, manifest.media_type, media_type,
                         '; its JWS signatures, which sign only the schema 1 bytes, were dropped'
                         if manifest.media_type == mf.DOCKER_SCHEMA1_SIGNED else ''))
        return image
    raw, media_type, new_blobs = convert_image(manifest, fmt, source.read_blob)
    return ImagePlan(manifest, raw, media_type, is_top, new_blobs)


def build_plan(source, fmt=None, multi_arch='system', platform=None, index_allowed=True):
    """The CopyPlan for ``source``. ``platform`` is a dict (os, architecture, variant) for ``multi_arch: system``."""
    if multi_arch not in MULTI_ARCH:
        raise ConfigError('multi_arch must be one of %s' % ', '.join(MULTI_ARCH))
    top = source.top_manifest()
    where = str(source.location)
    if not top.is_index:
        _check_image(top, where)
        return CopyPlan(top, [_image(source, top, fmt, True)])
    if multi_arch != 'system' and not index_allowed:
        raise ConfigError('%s is a multi-platform image, which the destination cannot hold; use multi_arch: system '
                          '(one platform) or another destination transport' % where)
    if multi_arch == 'system':
        plat = platform or mf.local_platform()
        entry = mf.choose_platform(top, plat['os'], plat['architecture'], plat.get('variant'))
        instance = source.manifest(entry['digest'])
        _check_image(instance, '%s (%s)' % (where, entry['digest']))
        return CopyPlan(top, [_image(source, instance, fmt, True)])
    images = []
    replaced = {}
    if multi_arch == 'all':
        for entry in top.manifests:
            instance = source.manifest(entry['digest'])
            _check_image(instance, '%s (%s)' % (where, entry['digest']))
            image = _image(source, instance, fmt, False)
            images.append(image)
            replaced[instance.digest] = image.descriptor
    raw, media_type = convert_index(top, fmt, replaced)
    return CopyPlan(top, images, (raw, media_type, mf.digest_of(raw)))
