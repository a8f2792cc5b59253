# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""image_copy's engine (internal; no stable API): plan, compare, transfer blobs in parallel, write manifests last.

Order of a copy, each step only when the previous succeeded:
  1. read the source's manifests and build the plan (the exact bytes that would be written);
  2. preserve_digests: refuse a plan that changes a digest, before the destination is touched;
  3. read the destination's current digest; equal to the plan's (and not force) -> changed: false, nothing moves;
     check mode stops here;
  4. check the destination is writable (registries: RegistryClient.check_push, which needs push rights);
  5. blobs, ``parallel`` at a time: skip what the destination has, mount within one registry, else stream the
     source into the destination with digest and size verified on the fly;
  6. instance manifests, then the index; then the destination commits (index.json, archive rename).
Any failure before 6 leaves no manifest at the destination.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.podkit.containers.plugins.module_utils.copy import transports as tp
from ansible_collections.podkit.containers.plugins.module_utils.copy.convert import FORMATS
from ansible_collections.podkit.containers.plugins.module_utils.copy.plan import MULTI_ARCH, build_plan
from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError, InvalidReferenceError, PodkitError
from ansible_collections.podkit.containers.plugins.module_utils.registry import manifest as mf
from ansible_collections.podkit.containers.plugins.module_utils.registry.client import RegistryClient
from ansible_collections.podkit.containers.plugins.module_utils.registry.reference import parse_image_location


class _Cancelled(PodkitError):
    """Another blob transfer failed; this one stops at its next chunk."""


class _SafeConf(object):
    """registries.conf for ``blocked`` and ``insecure``; a file that cannot be read here (no TOML parser) blocks
    nothing and marks nothing insecure, but a file that is broken (not valid TOML, too deep, unreadable, wrong types)
    fails the copy with its message.

    Read once for both sides, on the first question: the ``blocked`` check of a registry side, before its client
    exists (parsing the files, podman's shortnames.conf alone holds hundreds of aliases, costs a few milliseconds;
    local transports never ask).
    """

    def __init__(self, path):
        self._path = path
        self._conf = None
        self._loaded = False

    def _load(self):
        from ansible_collections.podkit.containers.plugins.module_utils.registry.registries_conf import load_registries_conf
        self._conf = load_registries_conf(self._path)
        self._loaded = True

    def refuse_blocked(self, reference):
        """As image_info and podman: a registry marked ``blocked`` is neither read nor written."""
        if not self._loaded:
            self._load()
        if self._conf is not None:
            self._conf.refuse_blocked(reference)

    def is_insecure(self, registry):
        if not self._loaded:
            self._load()
        if self._conf is None:
            return False
        try:
            return bool(self._conf.is_insecure(registry))
        except ConfigError:
            return False


def parse_location(text, side):
    """ImageLocation of ``src``/``dest``; docker references default to ``:latest``, archive names need a tag."""
    try:
        location = parse_image_location(text, default_tag=None)
    except InvalidReferenceError as err:
        raise InvalidReferenceError('%s: %s' % (side, err.msg), **err.details)
    ref = location.reference
    if location.transport == 'docker' and not ref.tag and not ref.digest:
        location.reference = ref.with_tag('latest')
    elif location.transport == 'docker-archive' and ref is not None and not ref.tag:
        raise InvalidReferenceError("%s: the image name in '%s' has no tag; a docker-archive names images NAME:TAG "
                                    "(for example docker-archive:%s:%s:latest)" % (side, text, location.path, ref.name),
                                    reference=text)
    return location


def _client(location, options, parallel, client_factory, confs=None):
    # Both sides read the same registries.conf once.
    confs = confs if confs is not None else {}
    conf = confs.get(options.registries_conf)
    if conf is None:
        conf = confs[options.registries_conf] = _SafeConf(options.registries_conf)
    conf.refuse_blocked(location.reference)
    if client_factory is not None:
        return client_factory(location.reference.registry, options)
    # One pooled connection per concurrent transfer, plus the manifest requests.
    return RegistryClient(location.reference.registry, options=options, conf=conf,
                          pool_size=max(10, parallel + 2))


def open_source(location, options, parallel=6, client_factory=None, confs=None):
    if location.transport == 'docker':
        return tp.RegistrySource(location, _client(location, options, parallel, client_factory, confs))
    if location.transport in ('oci', 'oci-archive'):
        return tp.OCILayoutSource(location, archive=location.transport == 'oci-archive')
    if location.transport == 'docker-archive':
        return tp.DockerArchiveSource(location)
    if location.transport == 'dir':
        return tp.DirSource(location)
    raise InvalidReferenceError('unsupported source transport %s' % location.transport)


def open_destination(location, options, parallel=6, client_factory=None, confs=None):
    if location.transport == 'docker':
        if location.reference.digest and location.reference.tag:
            location.reference = location.reference.with_digest(None)
        return tp.RegistryDestination(location, _client(location, options, parallel, client_factory, confs))
    if location.transport == 'oci':
        return tp.OCILayoutDestination(location)
    if location.transport == 'oci-archive':
        return tp.OCIArchiveDestination(location)
    if location.transport == 'docker-archive':
        if location.source_index is not None:
            raise InvalidReferenceError('dest: docker-archive:PATH:@INDEX only selects an image to read; name the image NAME:TAG')
        return tp.DockerArchiveDestination(location)
    if location.transport == 'dir':
        return tp.DirDestination(location)
    raise InvalidReferenceError('unsupported destination transport %s' % location.transport)


class _Stats(object):
    def __init__(self):
        self.lock = threading.Lock()
        self.copied = self.skipped = self.mounted = self.foreign = self.bytes = 0

    def add(self, kind, count=0):
        with self.lock:
            setattr(self, kind, getattr(self, kind) + 1)
            self.bytes += count


def _transfer_blobs(source, destination, blobs, parallel, stats):
    cancel = threading.Event()

    def cancellable(chunks):
        for chunk in chunks:
            if cancel.is_set():
                raise _Cancelled('cancelled')
            yield chunk

    def transfer(blob):
        if cancel.is_set():
            raise _Cancelled('cancelled')
        if blob.get('urls') and blob['kind'] == 'layer' and destination.keeps_foreign_layers:
            # A foreign layer stays a reference to its URLs, as skopeo keeps it: nothing to upload, and the
            # registry accepts the manifest without the blob.
            stats.add('foreign')
            return
        if destination.has_blob(blob):
            stats.add('skipped')
            return
        if 'data' in blob:
            # Made by a format conversion: the source does not have it, so it cannot be mounted from there.
            count = destination.put_blob(blob, lambda: iter([blob['data']]))
            stats.add('copied', count)
            return
        if destination.mount_blob(blob, source):
            stats.add('mounted')
            return
        count = destination.put_blob(blob, lambda: cancellable(source.blob_chunks(blob)))
        stats.add('copied', count)

    errors = []
    pool = ThreadPoolExecutor(max_workers=max(1, parallel))
    try:
        futures = [pool.submit(transfer, blob) for blob in blobs]
        for future in futures:
            exc = future.exception()
            if exc is not None:
                cancel.set()
                errors.append(exc)
    finally:
        cancel.set()
        pool.shutdown(wait=True)
    real = [e for e in errors if not isinstance(e, _Cancelled)]
    if real:
        raise real[0]
    if errors:
        raise errors[0]


def copy_image(src, dest, src_options, dest_options, multi_arch='system', platform=None, fmt=None, preserve_digests=False,
               parallel=6, force=False, check_mode=False, client_factory=None, signatures=None):
    """Copy ``src`` to ``dest`` (transport strings); returns the image_copy result dict.

    ``signatures``: an optional signatures.copying.CopySignatures (carry, sign, store; see its call order).
    """
    started = time.time()
    if fmt is not None and fmt not in FORMATS:
        raise ConfigError('format must be one of %s' % ', '.join(FORMATS))
    if multi_arch not in MULTI_ARCH:
        raise ConfigError('multi_arch must be one of %s' % ', '.join(MULTI_ARCH))
    if parallel is None or parallel < 1:
        raise ConfigError('parallel must be at least 1')
    wanted = mf.platform_option(platform)
    src_location = parse_location(src, 'src')
    dest_location = parse_location(dest, 'dest')
    confs = {}
    source = open_source(src_location, src_options, parallel, client_factory, confs)
    destination = open_destination(dest_location, dest_options, parallel, client_factory, confs)
    stats = _Stats()
    written = False
    try:
        fmt = destination.manifest_format(fmt)
        plan = build_plan(source, fmt=fmt, multi_arch=multi_arch, platform=wanted, index_allowed=destination.supports_index)
        if preserve_digests:
            changes = plan.changed_digests()
            if isinstance(destination, tp.DockerArchiveDestination):
                raise ConfigError('preserve_digests: a docker-archive stores layers uncompressed, so their digests and the '
                                  "manifest's would change; use oci-archive: or drop preserve_digests")
            if changes:
                raise ConfigError('preserve_digests: the copy would change manifest digest %s to %s (converting to %s '
                                  'media types); drop format or preserve_digests' % (changes[0][0], changes[0][1], fmt),
                                  changed_digests=['%s -> %s' % pair for pair in changes])
        target = destination.target_digest(plan)
        if not check_mode:
            # What an earlier, killed run left here goes, whether or not this run changes anything.
            destination.remove_stale()
        current = destination.current_digest()
        changed = bool(force) or current != target
        if signatures is not None and signatures.prepare(source, destination, plan, dest_location):
            changed = True
        if changed and not check_mode:
            written = True
            destination.check_writable()
            if signatures is not None:
                signatures.sign()
            _transfer_blobs(source, destination, plan.blobs(), parallel, stats)
            if signatures is not None:
                signatures.store()
            for image in plan.images:
                destination.put_manifest(image)
            if plan.index is not None:
                destination.put_index(*plan.index)
            destination.commit(plan)
    except BaseException:
        if written:
            destination.abort()
            if signatures is not None:
                signatures.abort()
        raise
    finally:
        source.close()
    requests_made = {}
    for side, obj in (('src', source), ('dest', destination)):
        if obj.client is not None:
            requests_made[side] = dict(obj.client.stats)
    result = dict(
        changed=changed,
        src=str(src_location),
        dest=str(dest_location),
        src_digest=plan.source_top.digest,
        dest_digest=target,
        manifest_type=plan.top_media_type,
        instances=[image.digest for image in plan.images],
        stats=dict(blobs_copied=stats.copied, blobs_skipped=stats.skipped, blobs_mounted=stats.mounted,
                   blobs_foreign=stats.foreign, bytes_transferred=stats.bytes, seconds=round(time.time() - started, 3), requests=requests_made),
        diff=dict(before=(current or 'absent') + '\n', after=target + '\n',
                  before_header=str(dest_location), after_header=str(dest_location)),
    )
    if plan.notes:
        result['notes'] = plan.notes
    if signatures is not None:
        result['signatures'] = signatures.summary(check_mode)
    return result
