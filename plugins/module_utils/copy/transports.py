# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image sources and destinations for image_copy (internal; no stable API).

Every source hands out blobs as iterators of chunks that are verified (size and digest) as they stream: a
consumer sees DigestMismatchError before the iterator ends, so nothing built from bad bytes is ever committed.
Destinations write blobs first and manifests last; local stores write each file to a temp name and rename it.

Formats (facts from the specs, not from another implementation's code):
  oci:            OCI image-layout 1.0: ``oci-layout``, ``index.json`` (entries named by the
                  ``org.opencontainers.image.ref.name`` annotation), ``blobs/<alg>/<hex>``.
  oci-archive:    a tar of such a layout.
  docker-archive: ``docker save`` / ``podman save``: ``manifest.json`` ([{Config, RepoTags, Layers}]), the config as
                  ``<hex>.json`` and every layer *uncompressed* as ``<diff id hex>.tar`` (docker load needs diff ids).
  dir:            containers/image's dir transport: ``version``, ``manifest.json``, blobs as ``<hex>``, instance
                  manifests of a list as ``<hex>.manifest.json``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import fcntl
import os
import shutil
import stat
import tarfile
import tempfile
import time
import zlib

try:
    import requests
    from urllib3.exceptions import HTTPError as _Urllib3Error
    _FETCH_ERRORS = (requests.exceptions.RequestException, _Urllib3Error, IOError, OSError)
except ImportError:  # the sanity import test runs without requests; modules check for it first
    requests = None
    _FETCH_ERRORS = (IOError, OSError)

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2 (the sanity compile test)
    from urlparse import urlsplit  # type: ignore

from ansible_collections.podkit.containers.plugins.module_utils import documents
from ansible_collections.podkit.containers.plugins.module_utils.errors import (
    ConfigError,
    DigestMismatchError,
    ImageStoreError,
    InvalidReferenceError,
    NotFoundError,
    RegistryError,
    RegistryUnreachableError,
    TLSError,
    TransferError,
)
from ansible_collections.podkit.containers.plugins.module_utils.copy.convert import dumps
from ansible_collections.podkit.containers.plugins.module_utils.registry import manifest as mf
from ansible_collections.podkit.containers.plugins.module_utils.registry.manifest import hasher_for, is_digest, parse_manifest
from ansible_collections.podkit.containers.plugins.module_utils.registry.reference import parse_reference

CHUNK = 1024 * 1024
REF_NAME = 'org.opencontainers.image.ref.name'
OCI_LAYOUT = b'{"imageLayoutVersion":"1.0.0"}'
DIR_VERSION = b'Directory Transport Version: 1.1\n'
_GZIP_MAGIC = b'\x1f\x8b'
_ZSTD_MAGIC = b'\x28\xb5\x2f\xfd'
TMP_PREFIX = '.tmp-'
# A temp file or staging directory that is still empty this young may be one a live run has just created and not
# locked yet: left for a later run.
_FRESH_SECONDS = 60

# What the code below relies on in the documents of local stores (checked before use, so a wrong type is a message).
_LAYOUT_DESCRIPTOR = documents.Object(required={'digest': str},
                                      optional={'mediaType': str, 'size': int, 'annotations': documents.MapOf(str),
                                                'platform': dict})
LAYOUT_INDEX_SHAPE = documents.Object(optional={'manifests': documents.ListOf(_LAYOUT_DESCRIPTOR)})
# docker save writes "RepoTags": null for an image without a name.
ARCHIVE_MANIFEST_SHAPE = documents.ListOf(documents.Object(
    required={'Config': str, 'Layers': documents.ListOf(str)},
    optional={'RepoTags': documents.Nullable(documents.ListOf(str))}))


def _hex(digest):
    return digest.partition(':')[2]


def _after(msg):
    return ' (the registry said: %s)' % msg if msg else ''


def _io_error(action, path, exc):
    hints = {
        errno.EACCES: 'permission denied: run as a user who may write there (become) or choose another path',
        errno.EPERM: 'operation not permitted: run as a user who may write there (become) or choose another path',
        errno.EROFS: 'the file system is read-only: choose another path',
        errno.ENOSPC: 'no space left on the device',
        errno.ENOENT: 'no such file or directory',
        errno.ENOTDIR: 'a component of the path is not a directory',
        errno.EISDIR: 'it is a directory, not a file',
    }
    hint = hints.get(getattr(exc, 'errno', None), getattr(exc, 'strerror', None) or str(exc))
    return ImageStoreError('cannot %s %s: %s' % (action, path, hint), path=path)


def verified_chunks(chunks, digest, size, what):
    """Re-yield ``chunks`` while checking their total ``size`` and ``digest``; DigestMismatchError on the last read."""
    hasher = hasher_for(digest)
    count = 0
    for chunk in chunks:
        count += len(chunk)
        if size is not None and count > size:
            raise DigestMismatchError('%s is larger than the announced %d bytes' % (what, size), expected_size=size)
        hasher.update(chunk)
        yield chunk
    actual = '%s:%s' % (digest.partition(':')[0], hasher.hexdigest())
    if size is not None and count != size:
        raise DigestMismatchError('%s has %d bytes, expected %d' % (what, count, size), expected_size=size, actual_size=count)
    if actual != digest:
        raise DigestMismatchError('%s has digest %s, expected %s' % (what, actual, digest), expected=digest, actual=actual)


def _file_chunks(path, offset=0, length=None):
    try:
        handle = open(path, 'rb')
    except (IOError, OSError) as exc:
        raise _io_error('read', path, exc)
    with handle:
        handle.seek(offset)
        remaining = length
        while remaining is None or remaining > 0:
            data = handle.read(CHUNK if remaining is None else min(CHUNK, remaining))
            if not data:
                break
            if remaining is not None:
                remaining -= len(data)
            yield data


def _read_json(path, what, kind=documents.MANIFEST, shape=None):
    """(bytes, parsed document) of the file at ``path``, (None, None) when it does not exist."""
    try:
        with open(path, 'rb') as handle:
            raw = handle.read(kind.max_bytes + 1)
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None, None
        raise _io_error('read', path, exc)
    what = '%s (%s)' % (what, path)
    data = documents.load_json(raw, what, kind, ImageStoreError, path=path)
    if shape is not None:
        documents.check(data, shape, what, ImageStoreError, path=path)
    return raw, data


def _layout_index(raw, where, path):
    """The parsed index.json of an OCI layout (directory or archive) ``where``."""
    what = 'index.json of %s' % where
    data = documents.load_json(raw, what, documents.LAYOUT_INDEX, ImageStoreError, path=path)
    return documents.check(data, LAYOUT_INDEX_SHAPE, what, ImageStoreError, path=path)


def _makedirs(path):
    try:
        # exist_ok: a parallel copy into the same layout may create the directory between a check and makedirs.
        os.makedirs(path, exist_ok=True)
    except (IOError, OSError) as exc:
        raise _io_error('create directory', path, exc)


def _hold(fd):
    """Lock ``fd`` for as long as it is open: the lock is what tells a live run's temp file from a dead run's.

    The kernel drops it when the process dies, however it dies (kill -9, a timeout of the controller).
    """
    fcntl.flock(fd, fcntl.LOCK_EX)


def _temp_file(directory, prefix=TMP_PREFIX, suffix=''):
    """(fd, path) of a new temp file in ``directory``, held (see _hold) until ``fd`` is closed."""
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=directory)
    _hold(fd)
    return fd, tmp


def _write_file(path, chunks):
    """Write ``chunks`` to a temp file next to ``path`` and rename it into place; returns the byte count.

    The rename happens before the file is closed, while it is still held: a run cleaning up stale temp files never
    takes one that is about to become a blob.
    """
    directory = os.path.dirname(path) or '.'
    try:
        fd, tmp = _temp_file(directory)
    except (IOError, OSError) as exc:
        raise _io_error('write', path, exc)
    count = 0
    try:
        try:
            with os.fdopen(fd, 'wb') as handle:
                for chunk in chunks:
                    handle.write(chunk)
                    count += len(chunk)
                handle.flush()
                os.chmod(tmp, 0o644)
                os.rename(tmp, path)
        except (IOError, OSError) as exc:
            raise _io_error('write', path, exc)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    return count


def remove_stale(directory, prefixes):
    """Remove the entries of ``directory`` named ``prefixes*`` that an earlier, dead run left; returns their names.

    Only our own names, and only what no live run holds: a concurrent copy into the same layout keeps its lock on
    every temp file and staging directory while it writes, so those are skipped. Symbolic links are never followed.
    """
    try:
        names = os.listdir(directory)
    except (IOError, OSError):
        return []
    removed = []
    now = time.time()
    for name in sorted(names):
        if not name.startswith(prefixes):
            continue
        path = os.path.join(directory, name)
        try:
            info = os.lstat(path)
            if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
                continue
            fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0))
        except (IOError, OSError):
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except (IOError, OSError):
                continue  # a live run holds it
            is_dir = stat.S_ISDIR(info.st_mode)
            empty = not os.listdir(path) if is_dir else os.fstat(fd).st_size == 0
            if empty and now - info.st_mtime < _FRESH_SECONDS:
                continue
            if is_dir:
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
            removed.append(name)
        except (IOError, OSError):
            continue
        finally:
            os.close(fd)
    return removed


def _undo_new_directory(root, created, written):
    """After a failed copy into a directory this run ``created``: remove the files it ``written`` and the emptied directories.

    Only what this run wrote goes, and a directory only once it is empty, so a concurrent copy into the same new
    directory keeps its own files. In a directory that existed, blobs written by this run stay (unreferenced, reused
    by the next copy): another copy may have found them there and referenced them meanwhile.
    """
    if os.path.abspath(root) not in created:
        return
    for path in written:
        try:
            os.unlink(path)
        except OSError:
            pass
    for directory in reversed(created):
        remove_stale(directory, (TMP_PREFIX,))
        try:
            os.rmdir(directory)
        except OSError:
            pass


def _missing_dirs(path):
    """The directories ``os.makedirs(path)`` would create, deepest last."""
    missing = []
    path = os.path.abspath(path)
    while not os.path.exists(path):
        missing.insert(0, path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return missing


def _check_dir_writable(directory, what):
    probe_dir = directory
    while probe_dir and not os.path.exists(probe_dir):
        parent = os.path.dirname(probe_dir)
        if parent == probe_dir:
            break
        probe_dir = parent
    if not os.path.isdir(probe_dir or '.'):
        raise ImageStoreError('cannot write %s: %s is not a directory' % (what, probe_dir), path=directory)
    if not os.access(probe_dir or '.', os.W_OK | os.X_OK):
        raise ImageStoreError('cannot write %s: permission denied on %s; run as a user who may write there (become) '
                              'or choose another path' % (what, probe_dir), path=directory)


def _foreign_response(url, options):
    """The open 200 response for ``url``, or a one-line reason why not.

    A foreign layer's URLs belong to someone else (a CDN, Microsoft's for Windows base images): the request goes out
    on a session of its own that carries no registry credentials, and without ``trust_env`` so that no ~/.netrc
    entry is attached to it or to a redirect either (proxies from the environment still apply).
    """
    if urlsplit(url).scheme not in ('http', 'https'):
        return None, 'not an http(s) URL'
    if requests is None:
        return None, 'the Python library requests is not installed'
    session = requests.Session()
    session.trust_env = False
    try:
        response = session.get(url, stream=True, headers={'Accept-Encoding': 'identity'},
                               proxies=requests.utils.get_environ_proxies(url),
                               timeout=getattr(options, 'timeout', None) or 30.0,
                               verify=bool(getattr(options, 'validate_certs', True)))
    except _FETCH_ERRORS as exc:
        session.close()
        return None, type(exc).__name__
    if response.status_code != 200:
        response.close()
        session.close()
        return None, 'HTTP %d' % response.status_code
    return response, None


def _response_chunks(response, url, what):
    try:
        yield from response.raw.stream(CHUNK, decode_content=False)
    except _FETCH_ERRORS as exc:
        raise TransferError('download of %s from %s failed: %s' % (what, url, type(exc).__name__))
    finally:
        response.close()


def foreign_blob_chunks(desc, where, options=None, fallback=None):
    """A verified iterator over a foreign layer (a descriptor with ``urls``), fetched from the first URL that serves it.

    ``fallback()``: the source's own copy of the blob, tried when no URL serves it (None: there is none).
    """
    what = 'foreign layer %s of %s' % (desc['digest'], where)
    failures = []
    for url in desc.get('urls') or []:
        response, reason = _foreign_response(url, options)
        if response is None:
            failures.append('%s: %s' % (url, reason))
            continue
        yield from verified_chunks(_response_chunks(response, url, what), desc['digest'], desc.get('size'),
                                   '%s from %s' % (what, url))
        return
    message = '%s could be fetched from none of its URLs (%s)' % (what, '; '.join(failures) or 'none given')
    if fallback is None:
        raise NotFoundError(message)
    try:
        chunks = iter(fallback())
        first = next(chunks, None)
    except (NotFoundError, ImageStoreError) as err:
        raise NotFoundError('%s, nor from %s: %s' % (message, where, err.msg))
    if first is not None:
        yield first
        yield from chunks


class Source(object):
    """Where manifests and blobs come from. ``registry``/``repository`` are set for registries only."""

    registry = None
    repository = None
    client = None

    def __init__(self, location):
        self.location = location

    def top_manifest(self):
        raise NotImplementedError

    def manifest(self, digest):
        raise NotImplementedError

    def blob_chunks(self, desc):
        """A verified iterator over the blob's bytes."""
        raise NotImplementedError

    def read_blob(self, desc, max_size=mf.MAX_CONFIG_SIZE):
        if desc.get('size') is not None and desc['size'] > max_size:
            raise ImageStoreError('blob %s of %s is larger than %d bytes' % (desc['digest'], self.location, max_size))
        return b''.join(self.blob_chunks(desc))

    def close(self):
        pass


class Destination(object):
    """Where an image goes. Engine order: prepare, (check_writable, blobs, manifests, commit) unless nothing changes."""

    supports_index = True
    # Whether a layer with ``urls`` (a foreign, non-distributable layer) stays a reference to those URLs, as
    # containers/image keeps it for registries and OCI layouts; other destinations need its bytes.
    keeps_foreign_layers = False
    client = None

    def __init__(self, location):
        self.location = location

    def remove_stale(self):
        """Remove the temp files and staging directories an earlier, killed run left for this target; their names."""
        return []

    def manifest_format(self, fmt):
        """The format to write given the requested ``fmt`` (None = keep the source's)."""
        return fmt

    def current_digest(self):
        """The digest the destination holds now for this name (None when absent)."""
        raise NotImplementedError

    def target_digest(self, plan):
        """The digest current_digest() will answer once ``plan`` is written."""
        return plan.top_digest

    def check_writable(self):
        pass

    def has_blob(self, desc):
        return False

    def mount_blob(self, desc, source):  # pylint: disable=unused-argument
        return False

    def put_blob(self, desc, open_chunks):
        """Store a blob from ``open_chunks()`` (a fresh verified iterator per call); returns bytes transferred."""
        raise NotImplementedError

    def put_manifest(self, image):
        """Store one image manifest (a plan.ImagePlan) after all its blobs."""
        raise NotImplementedError

    def put_index(self, raw, media_type, digest):
        raise ConfigError('%s cannot store a multi-platform index' % self.location)

    def commit(self, plan):
        pass

    def abort(self):
        pass


# -- registries ------------------------------------------------------------------------------------------------

class RegistrySource(Source):
    def __init__(self, location, client):
        super(RegistrySource, self).__init__(location)
        self.client = client
        self.reference = location.reference
        self.registry = client.registry
        self.repository = location.reference.repository

    def top_manifest(self):
        return self.client.get_manifest(self.repository, self.reference.api_reference)

    def manifest(self, digest):
        return self.client.get_manifest(self.repository, digest)

    def blob_chunks(self, desc):
        if desc.get('urls'):
            # As containers/image: a foreign layer comes from its URLs (the registry rarely holds it).
            return foreign_blob_chunks(desc, self.location, self.client.options,
                                       lambda: self.client.iter_blob(self.repository, desc['digest'], size=desc.get('size')))
        return self.client.iter_blob(self.repository, desc['digest'], size=desc.get('size'))

    def read_blob(self, desc, max_size=mf.MAX_CONFIG_SIZE):
        return self.client.get_blob_bytes(self.repository, desc['digest'], max_size)


class RegistryDestination(Destination):
    keeps_foreign_layers = True

    def __init__(self, location, client):
        super(RegistryDestination, self).__init__(location)
        self.client = client
        self.reference = location.reference
        self.repository = location.reference.repository

    def current_digest(self):
        try:
            return self.client.head_manifest(self.repository, self.reference.api_reference)['digest']
        except NotFoundError:
            return None

    def check_writable(self):
        # Bad or read-only credentials fail here, before any blob moves.
        self.client.check_push(self.repository)

    def has_blob(self, desc):
        return self.client.blob_exists(self.repository, desc['digest']) is not None

    def mount_blob(self, desc, source):
        if source.registry != self.client.registry or source.repository == self.repository:
            return False
        return self.client.mount_blob(self.repository, desc['digest'], source.repository)

    def put_blob(self, desc, open_chunks):
        counted = {'bytes': 0, 'verified': False}

        def open_stream():
            counted['bytes'] = 0
            counted['verified'] = False

            def counting():
                for chunk in open_chunks():
                    counted['bytes'] += len(chunk)
                    yield chunk
                # The source's iterator ends only after its digest and size checks passed.
                counted['verified'] = True
            return counting()

        # The chunks are verified by the source as they stream (and by the registry on the final PUT): the client
        # need not hash them a second time.
        try:
            self.client.upload_blob(self.repository, desc['digest'], desc['size'], open_stream, verify=False)
        except DigestMismatchError as err:
            if not counted['verified']:
                raise
            # We sent exactly the verified bytes, so the registry judged something else: an upload it changed or
            # lost during the copy (upload purging, a restart on other storage, a concurrent delete), or bytes a
            # proxy altered on the way.
            raise TransferError('registry %s rejected the upload of blob %s to %s although the %d bytes sent were verified '
                                'against that digest and size on the way: what it holds is not what was sent (the upload '
                                'changed or vanished on the registry during the copy, through upload purging, garbage '
                                'collection or a concurrent push, or a proxy altered it in transit); run the copy again'
                                % (self.client.registry, desc['digest'], self.repository, counted['bytes']),
                                registry=self.client.registry, repository=self.repository, status=err.status,
                                error_codes=err.details.get('error_codes'))
        return counted['bytes']

    def _put(self, reference, raw, media_type, digest, foreign=False):
        try:
            self.client.put_manifest(self.repository, reference, raw, media_type)
        except RegistryError as err:
            if 'MANIFEST_BLOB_UNKNOWN' in (err.details.get('error_codes') or []) and not foreign:
                raise TransferError('registry %s refused manifest %s of %s because a blob it references is missing, although '
                                    'every blob was there or uploaded moments before: a concurrent delete or garbage '
                                    'collection removed it during the copy; run the copy again%s'
                                    % (self.client.registry, digest, self.repository, _after(err.msg)),
                                    registry=self.client.registry, repository=self.repository, status=err.status)
            if foreign and err.status in (400, 500):
                raise TransferError('registry %s refused manifest %s of %s, which references a foreign layer by its URLs: '
                                    'the registry may not accept such URLs (distribution: validation.manifests.urls.allow); '
                                    'copy to a registry that does, or to dir:/docker-archive:, which fetch the layer%s'
                                    % (self.client.registry, digest, self.repository, _after(err.msg)),
                                    registry=self.client.registry, repository=self.repository, status=err.status)
            # A lost answer (connection reset after the registry stored it): ask before calling the push failed.
            if not isinstance(err, (RegistryUnreachableError, TransferError)) or isinstance(err, TLSError) or err.status:
                raise
            try:
                stored = self.client.head_manifest(self.repository, reference)['digest']
            except RegistryError:
                raise err
            if stored != digest:
                raise

    def put_manifest(self, image):
        reference = self.reference.api_reference if image.is_top else image.digest
        self._put(reference, image.raw, image.media_type, image.digest, foreign=any(layer.get('urls') for layer in image.layers))

    def put_index(self, raw, media_type, digest):
        self._put(self.reference.api_reference, raw, media_type, digest)


# -- OCI image layout ------------------------------------------------------------------------------------------

def _index_entry(index, image_ref, where):
    entries = index.get('manifests') or [] if isinstance(index, dict) else []
    if image_ref:
        for entry in entries:
            if (entry.get('annotations') or {}).get(REF_NAME) == image_ref:
                return entry
        names = sorted(set((e.get('annotations') or {}).get(REF_NAME) for e in entries) - set([None]))
        raise NotFoundError('no image named %s in %s; it holds: %s' % (image_ref, where, ', '.join(names) or 'no named images'))
    if len(entries) == 1:
        return entries[0]
    raise NotFoundError('%s holds %d images; name one as oci:PATH:NAME' % (where, len(entries)))


class _LayoutReader(object):
    """Blob access into an OCI layout: a directory, or members of an (uncompressed) tar."""

    def __init__(self, where, root=None, archive=None):
        self.where = where
        self.root = root
        self.archive = archive
        self.members = {}
        if archive is not None:
            try:
                with tarfile.open(archive, 'r:') as tar:
                    for member in tar:
                        if member.isfile():
                            name = os.path.normpath(member.name).lstrip('/')
                            if name in self.members:
                                # tar lets a later member shadow an earlier one; readers disagree on which wins
                                raise ImageStoreError('%s holds %s twice; refusing an ambiguous archive' % (archive, name),
                                                      path=archive)
                            self.members[name] = (member.offset_data, member.size)
            except (IOError, OSError) as exc:
                raise _io_error('read', archive, exc)
            except tarfile.TarError as exc:
                raise ImageStoreError('%s is not a readable tar archive: %s' % (archive, exc), path=archive)

    def exists(self, name):
        if self.archive is not None:
            return name in self.members
        return os.path.isfile(os.path.join(self.root, name))

    def chunks(self, name):
        if self.archive is not None:
            if name not in self.members:
                raise NotFoundError('%s has no %s' % (self.where, name))
            offset, size = self.members[name]
            return _file_chunks(self.archive, offset, size)
        path = os.path.join(self.root, name)
        if not os.path.isfile(path):
            raise NotFoundError('%s has no %s' % (self.where, name))
        return _file_chunks(path)

    def read(self, name, limit=mf.MAX_MANIFEST_SIZE):
        data = b''
        for chunk in self.chunks(name):
            data += chunk
            if len(data) > limit:
                raise ImageStoreError('%s in %s is larger than %d bytes' % (name, self.where, limit))
        return data


def _blob_name(digest):
    if not is_digest(digest):
        raise ImageStoreError('invalid digest %r' % (digest,))
    return 'blobs/%s/%s' % (digest.partition(':')[0], _hex(digest))


class OCILayoutSource(Source):
    def __init__(self, location, archive=False):
        super(OCILayoutSource, self).__init__(location)
        path = location.path
        if archive:
            if not os.path.isfile(path):
                raise NotFoundError('oci-archive %s does not exist' % path, path=path)
            self.reader = _LayoutReader(str(location), archive=path)
        else:
            if not os.path.isdir(path):
                raise NotFoundError('OCI layout directory %s does not exist' % path, path=path)
            self.reader = _LayoutReader(str(location), root=path)
        if not self.reader.exists('index.json'):
            raise ImageStoreError('%s is not an OCI image layout (no index.json)' % location, path=path)
        index = _layout_index(self.reader.read('index.json', documents.LAYOUT_INDEX.max_bytes), location, path)
        self.entry = _index_entry(index, location.image_ref, str(location))

    def top_manifest(self):
        return self.manifest(self.entry['digest'], self.entry.get('mediaType'))

    def manifest(self, digest, media_type=None):
        raw = self.reader.read(_blob_name(digest))
        return parse_manifest(raw, media_type, expected_digest=digest, what='manifest %s in %s' % (digest, self.location))

    def blob_chunks(self, desc):
        name = _blob_name(desc['digest'])
        if desc.get('urls') and not self.reader.exists(name):
            # A layout written by a registry-or-OCI copy keeps foreign layers as references only.
            return foreign_blob_chunks(desc, self.location)
        return verified_chunks(self.reader.chunks(name), desc['digest'], desc.get('size'),
                               'blob %s in %s' % (desc['digest'], self.location))


@contextlib.contextmanager
def _locked_directory(path):
    """An exclusive flock on the directory itself (no lock file left in it): parallel copies into one layout each
    read index.json, add their entry and write it back, and without the lock the last writer drops the others'."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except (IOError, OSError) as exc:
        raise _io_error('lock', path, exc)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


class _DirectoryDestination(Destination):
    """A destination that is a directory of files (``root``); a failed copy into one it created removes it again."""

    def __init__(self, location, root):
        super(_DirectoryDestination, self).__init__(location)
        self.root = root
        self._created = []  # directories this run made, parents first
        self._written = []  # files this run renamed into place

    def _makedirs(self, path):
        missing = _missing_dirs(path)
        _makedirs(path)
        self._created.extend(d for d in missing if d not in self._created)

    def _write(self, path, chunks):
        count = _write_file(path, chunks)
        self._written.append(path)
        return count

    def abort(self):
        _undo_new_directory(self.root, self._created, self._written)


class OCILayoutDestination(_DirectoryDestination):
    keeps_foreign_layers = True
    shared = True  # other runs may write the same layout

    def __init__(self, location, root=None):
        super(OCILayoutDestination, self).__init__(location, root or location.path)
        self.image_ref = location.image_ref
        self._top = None

    def remove_stale(self):
        removed = []
        blobs = os.path.join(self.root, 'blobs')
        for directory in [self.root] + [os.path.join(blobs, a) for a in (sorted(os.listdir(blobs)) if os.path.isdir(blobs) else [])]:
            removed.extend(os.path.join(directory, name) for name in remove_stale(directory, (TMP_PREFIX,)))
        return removed

    def manifest_format(self, fmt):
        # An OCI layout lists OCI manifests and indexes only (podman ignores other descriptors), so Docker
        # manifests are converted on the way in, as skopeo does.
        if fmt == 'v2s2':
            raise ConfigError('%s can hold only OCI manifests; drop format: v2s2 or use dir: or docker://' % self.location)
        return 'oci'

    def current_digest(self):
        raw, index = _read_json(os.path.join(self.root, 'index.json'), 'index.json of %s' % self.location,
                                documents.LAYOUT_INDEX, LAYOUT_INDEX_SHAPE)
        if index is None:
            return None
        try:
            entry = _index_entry(index, self.image_ref, str(self.location))
        except NotFoundError:
            return None
        digest = entry.get('digest')
        if not is_digest(digest) or not os.path.isfile(os.path.join(self.root, _blob_name(digest))):
            return None
        return digest

    def check_writable(self):
        if os.path.exists(self.root) and not os.path.isdir(self.root):
            raise ImageStoreError('cannot write the OCI layout %s: it is not a directory' % self.root, path=self.root)
        _check_dir_writable(self.root, 'the OCI layout %s' % self.root)
        self._makedirs(os.path.join(self.root, 'blobs', 'sha256'))

    def _path(self, digest):
        return os.path.join(self.root, *_blob_name(digest).split('/'))

    def has_blob(self, desc):
        path = self._path(desc['digest'])
        return os.path.isfile(path) and (desc.get('size') is None or os.path.getsize(path) == desc['size'])

    def put_blob(self, desc, open_chunks):
        path = self._path(desc['digest'])
        self._makedirs(os.path.dirname(path))
        return self._write(path, open_chunks())

    def put_manifest(self, image):
        self.put_blob({'digest': image.digest}, lambda: [image.raw])
        if image.is_top:
            self._top = {'mediaType': image.media_type, 'digest': image.digest, 'size': len(image.raw)}

    def put_index(self, raw, media_type, digest):
        self.put_blob({'digest': digest}, lambda: [raw])
        self._top = {'mediaType': media_type, 'digest': digest, 'size': len(raw)}

    def commit(self, plan):
        if not self.shared:
            self._commit_index()
            return
        with _locked_directory(self.root):
            self._commit_index()

    def _commit_index(self):
        index_path = os.path.join(self.root, 'index.json')
        dummy, index = _read_json(index_path, 'index.json of %s' % self.location, documents.LAYOUT_INDEX, LAYOUT_INDEX_SHAPE)
        if not isinstance(index, dict):
            index = {'schemaVersion': 2, 'mediaType': mf.OCI_INDEX, 'manifests': []}
        desc = dict(self._top)
        if self.image_ref:
            desc['annotations'] = {REF_NAME: self.image_ref}
        entries = []
        replaced = False
        for entry in index.get('manifests') or []:
            if self.image_ref and (entry.get('annotations') or {}).get(REF_NAME) == self.image_ref:
                continue
            if not replaced and entry.get('digest') == desc['digest'] and not (entry.get('annotations') or {}).get(REF_NAME):
                entries.append(desc)
                replaced = True
                continue
            entries.append(entry)
        if not replaced:
            entries.append(desc)
        index['manifests'] = entries
        index.setdefault('schemaVersion', 2)
        self._write(os.path.join(self.root, 'oci-layout'), [OCI_LAYOUT])
        self._write(index_path, [dumps(index)])


# -- archives -------------------------------------------------------------------------------------------------

def _tar_directory(root, names, target):
    """Write the files ``names`` (relative to ``root``) into a new tar at ``target`` (temp file + rename)."""
    directory = os.path.dirname(os.path.abspath(target))
    try:
        fd, tmp = _temp_file(directory, prefix=_archive_prefixes(target)[1])
    except (IOError, OSError) as exc:
        raise _io_error('write', target, exc)
    try:
        try:
            with os.fdopen(fd, 'wb') as handle:
                with tarfile.open(fileobj=handle, mode='w:', format=tarfile.PAX_FORMAT) as tar:
                    seen_dirs = set()
                    for name in names:
                        parts = name.split('/')[:-1]
                        for depth in range(1, len(parts) + 1):
                            sub = '/'.join(parts[:depth])
                            if sub not in seen_dirs:
                                seen_dirs.add(sub)
                                info = tarfile.TarInfo(sub)
                                info.type = tarfile.DIRTYPE
                                info.mode = 0o755
                                tar.addfile(info)
                        path = os.path.join(root, *name.split('/'))
                        info = tarfile.TarInfo(name)
                        info.size = os.path.getsize(path)
                        info.mode = 0o644
                        with open(path, 'rb') as src:
                            tar.addfile(info, src)
                handle.flush()
                # Renamed while still held (see _write_file).
                os.chmod(tmp, 0o644)
                os.rename(tmp, target)
        except (IOError, OSError) as exc:
            raise _io_error('write', target, exc)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def _check_archive_target(path, what):
    if os.path.isdir(path):
        raise ImageStoreError('cannot write %s to %s: it is a directory' % (what, path), path=path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ImageStoreError('cannot write %s to %s: directory %s does not exist' % (what, path, directory), path=path)
    if not os.access(directory, os.W_OK | os.X_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise ImageStoreError('cannot write %s to %s: permission denied; run as a user who may write there (become) or '
                              'choose another path' % (what, path), path=path)


def _archive_prefixes(target):
    """Name prefixes of an archive's staging directories and temp files, next to it."""
    base = os.path.basename(target)
    return ('.%s.stage-' % base, '.%s%s' % (base, TMP_PREFIX))


class _StagedArchive(object):
    """A staging directory next to the archive, held (see _hold) while in use, removed after commit or failure."""

    def __init__(self, target, what):
        self.target = target
        self.what = what
        self.stage = None
        self._fd = None

    def remove_stale(self):
        directory = os.path.dirname(os.path.abspath(self.target))
        return [os.path.join(directory, name) for name in remove_stale(directory, _archive_prefixes(self.target))]

    def open(self):
        _check_archive_target(self.target, self.what)
        try:
            self.stage = tempfile.mkdtemp(prefix=_archive_prefixes(self.target)[0],
                                          dir=os.path.dirname(os.path.abspath(self.target)))
            self._fd = os.open(self.stage, os.O_RDONLY)
            _hold(self._fd)
        except (IOError, OSError) as exc:
            raise _io_error('write', self.target, exc)
        return self.stage

    def cleanup(self):
        if self.stage and os.path.isdir(self.stage):
            shutil.rmtree(self.stage, ignore_errors=True)
        self.stage = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class OCIArchiveDestination(OCILayoutDestination):
    shared = False  # the layout is this run's own staging directory (held by _StagedArchive already)

    def __init__(self, location):
        super(OCIArchiveDestination, self).__init__(location, root=None)
        self.staged = _StagedArchive(location.path, 'the oci-archive')

    def remove_stale(self):
        return self.staged.remove_stale()

    def current_digest(self):
        if not os.path.isfile(self.location.path):
            return None
        try:
            reader = _LayoutReader(str(self.location), archive=self.location.path)
            index = _layout_index(reader.read('index.json', documents.LAYOUT_INDEX.max_bytes), self.location,
                                  self.location.path)
            entry = _index_entry(index, self.image_ref, str(self.location))
        except (ImageStoreError, NotFoundError):
            return None
        digest = entry.get('digest')
        return digest if is_digest(digest) and reader.exists(_blob_name(digest)) else None

    def check_writable(self):
        self.root = self.staged.open()
        super(OCIArchiveDestination, self).check_writable()

    def commit(self, plan):
        super(OCIArchiveDestination, self).commit(plan)
        names = ['oci-layout', 'index.json']
        for dirpath, dummy, files in os.walk(os.path.join(self.root, 'blobs')):
            rel = os.path.relpath(dirpath, self.root).replace(os.sep, '/')
            names.extend(sorted('%s/%s' % (rel, f) for f in files))
        _tar_directory(self.root, names, self.location.path)
        self.staged.cleanup()

    def abort(self):
        self.staged.cleanup()


def _docker_archive_items(path, where):
    reader = _LayoutReader(where, archive=path)
    if not reader.exists('manifest.json'):
        raise ImageStoreError('%s is not a docker-archive (no manifest.json)' % path, path=path)
    what = 'manifest.json of %s' % path
    items = documents.load_json(reader.read('manifest.json', documents.ARCHIVE_MANIFEST.max_bytes), what,
                                documents.ARCHIVE_MANIFEST, ImageStoreError, path=path)
    return reader, documents.check(items, ARCHIVE_MANIFEST_SHAPE, what, ImageStoreError, path=path)


def _repo_tag(reference):
    return '%s:%s' % (reference.name, reference.tag)


def _normalized_tag(text):
    """A RepoTag as the normalized NAME:TAG it stands for: docker writes its short form (``busybox:latest``,
    ``myorg/app:1``), which means ``docker.io/library/busybox:latest`` and ``docker.io/myorg/app:1``."""
    try:
        return _repo_tag(parse_reference(text))
    except InvalidReferenceError:
        return None


def _find_item(items, location):
    if location.reference is not None:
        wanted = _repo_tag(location.reference)
        for item in items:
            if any(_normalized_tag(tag) == wanted for tag in item.get('RepoTags') or []):
                return item
        return None
    if location.source_index is not None:
        return items[location.source_index] if location.source_index < len(items) else None
    return items[0] if len(items) == 1 else None


class DockerArchiveSource(Source):
    """An image of a docker-archive, presented as a Docker v2s2 manifest over the archive's own files."""

    def __init__(self, location):
        super(DockerArchiveSource, self).__init__(location)
        path = location.path
        if not os.path.isfile(path):
            raise NotFoundError('docker-archive %s does not exist' % path, path=path)
        self.reader, items = _docker_archive_items(path, str(location))
        item = _find_item(items, location)
        if item is None:
            raise NotFoundError('%s: no such image in the archive (it holds %s)'
                                % (location, ', '.join(t for i in items for t in (i.get('RepoTags') or [])) or '%d untagged images' % len(items)))
        self.files = {}
        config_name = os.path.normpath(item.get('Config') or '')
        config_raw = self.reader.read(config_name, mf.MAX_CONFIG_SIZE)
        config_digest = mf.digest_of(config_raw)
        self.files[config_digest] = config_name
        layers = []
        for name in item.get('Layers') or []:
            name = os.path.normpath(name)
            hasher = hasher_for('sha256:')
            size = 0
            head = b''
            for chunk in self.reader.chunks(name):
                if len(head) < 4:
                    head += chunk[:4]
                hasher.update(chunk)
                size += len(chunk)
            digest = 'sha256:' + hasher.hexdigest()
            self.files[digest] = name
            media_type = mf.DOCKER_LAYER if head.startswith(_GZIP_MAGIC) else mf.DOCKER_LAYER_TAR
            layers.append({'mediaType': media_type, 'size': size, 'digest': digest})
        data = {'schemaVersion': 2, 'mediaType': mf.DOCKER_MANIFEST,
                'config': {'mediaType': mf.DOCKER_CONFIG, 'size': len(config_raw), 'digest': config_digest},
                'layers': layers}
        self._manifest = parse_manifest(dumps(data), mf.DOCKER_MANIFEST, what='manifest of %s' % location)

    def top_manifest(self):
        return self._manifest

    def manifest(self, digest):
        if digest == self._manifest.digest:
            return self._manifest
        raise NotFoundError('%s has no manifest %s' % (self.location, digest))

    def blob_chunks(self, desc):
        name = self.files.get(desc['digest'])
        if name is None:
            raise NotFoundError('%s has no blob %s' % (self.location, desc['digest']))
        return verified_chunks(self.reader.chunks(name), desc['digest'], desc.get('size'),
                               'blob %s in %s' % (desc['digest'], self.location))


def decompressed(chunks):
    """Uncompressed bytes of a gzip (possibly multi-member) or plain stream; zstd is refused."""
    chunks = iter(chunks)
    first = b''
    for chunk in chunks:
        first += chunk
        if len(first) >= 4:
            break
    if first.startswith(_ZSTD_MAGIC):
        raise ConfigError('a zstd-compressed layer cannot be written to a docker-archive')
    if not first.startswith(_GZIP_MAGIC):
        if first:
            yield first
        yield from chunks
        return
    decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
    pending = first
    while True:
        while pending:
            out = decomp.decompress(pending)
            if out:
                yield out
            pending = b''
            if decomp.eof and decomp.unused_data.strip(b'\0'):
                # Concatenated gzip members decompress to the concatenation (gzip(1) semantics).
                pending = decomp.unused_data
                decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            pending = next(chunks)
        except StopIteration:
            break
    tail = decomp.flush()
    if tail:
        yield tail


class DockerArchiveDestination(Destination):
    """Writes a single-image docker-archive that ``podman load`` / ``docker load`` read."""

    supports_index = False

    def __init__(self, location):
        super(DockerArchiveDestination, self).__init__(location)
        self.staged = _StagedArchive(location.path, 'the docker-archive')
        self.stage = None
        self.diff_ids = {}
        self.item = None

    def remove_stale(self):
        return self.staged.remove_stale()

    def _existing_item(self):
        if not os.path.isfile(self.location.path):
            return None
        try:
            dummy, items = _docker_archive_items(self.location.path, str(self.location))
        except ImageStoreError:
            return None
        return _find_item(items, self.location)

    def current_digest(self):
        item = self._existing_item()
        name = os.path.basename((item or {}).get('Config') or '')
        digest = 'sha256:' + name[:-len('.json')] if name.endswith('.json') else None
        return digest if is_digest(digest) else None

    def target_digest(self, plan):
        # docker-archive keeps no manifest: the image is identified by its config digest (the image ID).
        return plan.images[0].config['digest']

    def check_writable(self):
        self.stage = self.staged.open()

    def put_blob(self, desc, open_chunks):
        if desc.get('kind') == 'config':
            return _write_file(os.path.join(self.stage, _hex(desc['digest']) + '.json'), open_chunks())
        counted = {'bytes': 0}
        hasher = hasher_for('sha256:')

        def counting():
            for chunk in open_chunks():
                counted['bytes'] += len(chunk)
                yield chunk

        def hashing(chunks):
            for chunk in chunks:
                hasher.update(chunk)
                yield chunk

        tmp_name = os.path.join(self.stage, 'layer-' + _hex(desc['digest']))
        _write_file(tmp_name, hashing(decompressed(counting())))
        diff_id = 'sha256:' + hasher.hexdigest()
        try:
            os.rename(tmp_name, os.path.join(self.stage, _hex(diff_id) + '.tar'))
        except OSError as exc:
            raise _io_error('write', self.location.path, exc)
        self.diff_ids[desc['digest']] = diff_id
        return counted['bytes']

    def put_manifest(self, image):
        config_path = os.path.join(self.stage, _hex(image.config['digest']) + '.json')
        raw, config = _read_json(config_path, 'the image config', documents.CONFIG)
        expected = ((config or {}).get('rootfs') or {}).get('diff_ids') or []
        actual = [self.diff_ids[layer['digest']] for layer in image.layers]
        if expected != actual:
            raise DigestMismatchError('the uncompressed layers of %s do not match the diff_ids of its config' % self.location,
                                      expected=expected, actual=actual)
        tags = [_repo_tag(self.location.reference)] if self.location.reference is not None else []
        self.item = {'Config': _hex(image.config['digest']) + '.json', 'RepoTags': tags,
                     'Layers': [_hex(d) + '.tar' for d in actual]}

    def commit(self, plan):
        _write_file(os.path.join(self.stage, 'manifest.json'), [dumps([self.item])])
        names = [self.item['Config']] + sorted(set(self.item['Layers'])) + ['manifest.json']
        _tar_directory(self.stage, names, self.location.path)
        self.staged.cleanup()

    def abort(self):
        self.staged.cleanup()


# -- dir: --------------------------------------------------------------------------------------------------------

class DirSource(Source):
    def __init__(self, location):
        super(DirSource, self).__init__(location)
        self.root = location.path
        if not os.path.isfile(os.path.join(self.root, 'manifest.json')):
            raise NotFoundError('%s is not an image directory (no manifest.json)' % location, path=self.root)

    def _read(self, name):
        raw, dummy = _read_json(os.path.join(self.root, name), '%s of %s' % (name, self.location))
        if raw is None:
            raise NotFoundError('%s has no %s' % (self.location, name))
        return raw

    def top_manifest(self):
        return parse_manifest(self._read('manifest.json'), what='manifest.json of %s' % self.location)

    def manifest(self, digest):
        return parse_manifest(self._read(_hex(digest) + '.manifest.json'), expected_digest=digest,
                              what='manifest %s of %s' % (digest, self.location))

    def blob_chunks(self, desc):
        return verified_chunks(_file_chunks(os.path.join(self.root, _hex(desc['digest']))), desc['digest'], desc.get('size'),
                               'blob %s in %s' % (desc['digest'], self.location))


class DirDestination(_DirectoryDestination):
    def __init__(self, location):
        super(DirDestination, self).__init__(location, location.path)

    def remove_stale(self):
        return [os.path.join(self.root, name) for name in remove_stale(self.root, (TMP_PREFIX,))]

    def current_digest(self):
        if not os.path.isfile(os.path.join(self.root, 'version')):
            return None
        raw, dummy = _read_json(os.path.join(self.root, 'manifest.json'), 'manifest.json of %s' % self.location)
        if raw is None:
            return None
        try:
            return parse_manifest(raw).digest
        except Exception:  # pylint: disable=broad-except
            return None

    def check_writable(self):
        if os.path.exists(self.root):
            if not os.path.isdir(self.root):
                raise ImageStoreError('cannot write %s: it is not a directory' % self.location, path=self.root)
            entries = os.listdir(self.root)
            if entries and 'version' not in entries:
                raise ImageStoreError('refusing to write %s: the directory is not empty and holds no image (no version file)'
                                      % self.location, path=self.root)
        _check_dir_writable(self.root, str(self.location))
        self._makedirs(self.root)
        # As containers/image does: a previous image's files go, so the directory holds exactly one image. Temp
        # files are another run's (remove_stale took the dead ones).
        for name in os.listdir(self.root):
            path = os.path.join(self.root, name)
            if os.path.isfile(path) and not os.path.islink(path) and not name.startswith(TMP_PREFIX):
                os.unlink(path)
        # First, as containers/image writes it: a run killed later leaves a directory the next run may overwrite.
        self._write(os.path.join(self.root, 'version'), [DIR_VERSION])

    def has_blob(self, desc):
        path = os.path.join(self.root, _hex(desc['digest']))
        return os.path.isfile(path) and os.path.getsize(path) == desc.get('size')

    def put_blob(self, desc, open_chunks):
        return self._write(os.path.join(self.root, _hex(desc['digest'])), open_chunks())

    def put_manifest(self, image):
        name = 'manifest.json' if image.is_top else _hex(image.digest) + '.manifest.json'
        self._write(os.path.join(self.root, name), [image.raw])

    def put_index(self, raw, media_type, digest):
        self._write(os.path.join(self.root, 'manifest.json'), [raw])
