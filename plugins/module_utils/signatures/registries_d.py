# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""containers-registries.d(5): where signatures of a registry image live (internal; no stable API).

Facts from containers-registries.d(5) and the lookaside layout of containers/image:
  * one directory is read: the ``registries_d`` option, else ``~/.config/containers/registries.d`` when it exists,
    else ``/etc/containers/registries.d``; every ``*.yaml`` file in it, merged (a key defined twice is an error);
  * ``default-docker`` applies when no ``docker`` entry does; ``docker`` keys are scopes matched like policy
    scopes: the full reference, then the repository, then each namespace up to the registry, then ``*.domain``
    wildcards (the most specific first); ``use-sigstore-attachments`` and the lookaside URLs are looked up
    independently, each from the most specific entry that sets it;
  * ``lookaside`` (legacy ``sigstore``) is read; writes go to ``lookaside-staging`` (legacy ``sigstore-staging``)
    when set, else to ``lookaside``; only ``file://`` URLs can be written;
  * with no lookaside configured, the built-in default is ``/var/lib/containers/sigstore`` for root and
    ``~/.local/share/containers/sigstore`` otherwise;
  * a simple signature of manifest ``sha256:H`` of ``registry/path`` is stored at
    ``<base>/<path>@sha256=H/signature-N``, N counting from 1 without gaps (readers stop at the first missing N);
  * an ``http://`` / ``https://`` lookaside is read with GET, ``signature-1``, ``signature-2``, ... until the first
    404; any other status than 200 and 404 is an error, not the end of the list.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import tempfile
import time

from ansible_collections.podkit.containers.plugins.module_utils import documents
from ansible_collections.podkit.containers.plugins.module_utils.errors import (
    ConfigError,
    FileWriteError,
    RegistryError,
    RegistryUnreachableError,
    TLSError,
)
# A lookaside is a plain web server: retried on what, and as, the registry client retries.
from ansible_collections.podkit.containers.plugins.module_utils.registry.client import RETRY_STATUSES, backoff_delay

try:
    from urllib.parse import unquote, urlsplit
except ImportError:  # pragma: no cover - Python 2 is not a target
    from urllib import unquote  # type: ignore
    from urlparse import urlsplit  # type: ignore

try:
    import requests
    HAS_REQUESTS = True
except ImportError:  # pragma: no cover - depends on the target
    requests = None
    HAS_REQUESTS = False


SYSTEM_DIR = '/etc/containers/registries.d'
USER_DIR = '~/.config/containers/registries.d'
MAX_SIGNATURE_SIZE = 4 * 1024 * 1024
MAX_SIGNATURES = 128
_ENTRY_KEYS = ('lookaside', 'lookaside-staging', 'sigstore', 'sigstore-staging', 'use-sigstore-attachments')


def default_dir():
    user = os.path.expanduser(USER_DIR)
    return user if os.path.isdir(user) else SYSTEM_DIR


def builtin_lookaside():
    if os.geteuid() == 0:
        return 'file:///var/lib/containers/sigstore'
    return 'file://' + os.path.expanduser('~/.local/share/containers/sigstore')


def scopes_for(ref):
    """Scope keys for a Reference, most specific first (identity, repository, namespaces, registry, wildcards)."""
    out = []
    if ref.digest:
        out.append('%s@%s' % (ref.name, ref.digest))
    elif ref.tag:
        out.append('%s:%s' % (ref.name, ref.tag))
    parts = ref.name.split('/')
    for end in range(len(parts), 0, -1):
        out.append('/'.join(parts[:end]))
    host = ref.registry.split(':', 1)[0] if ref.registry.count(':') == 1 else ref.registry
    labels = host.split('.')
    for start in range(1, len(labels)):
        out.append('*.' + '.'.join(labels[start:]))
    return out


class _Entry(object):
    def __init__(self, data, where):
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError('%s: a registries.d entry must be a mapping' % where)
        unknown = sorted(set(data) - set(_ENTRY_KEYS))
        if unknown:
            raise ConfigError('%s: unknown key(s) %s (known: %s)' % (where, ', '.join(unknown), ', '.join(_ENTRY_KEYS)))
        for key in _ENTRY_KEYS[:4]:
            if data.get(key) is not None and not isinstance(data.get(key), str):
                raise ConfigError('%s: %s must be a URL string' % (where, key))
        if data.get('use-sigstore-attachments') is not None and not isinstance(data['use-sigstore-attachments'], bool):
            raise ConfigError('%s: use-sigstore-attachments must be true or false' % where)
        self.data = data

    def read_url(self):
        return self.data.get('lookaside') or self.data.get('sigstore')

    def write_url(self):
        for key in ('lookaside-staging', 'sigstore-staging', 'lookaside', 'sigstore'):
            if self.data.get(key):
                return self.data[key]
        return None


class RegistriesD(object):
    """The merged configuration of one registries.d directory."""

    def __init__(self, directory=None, default=None, docker=None):
        self.directory = directory
        self.default = default or _Entry({}, 'default-docker')
        self.docker = docker or {}

    @classmethod
    def load(cls, directory=None):
        directory = os.path.expanduser(directory) if directory else default_dir()
        if not os.path.isdir(directory):
            if os.path.exists(directory):
                raise ConfigError('registries_d %s is not a directory' % directory, path=directory)
            return cls(directory)
        try:
            names = sorted(n for n in os.listdir(directory) if n.endswith('.yaml'))
        except OSError as exc:
            raise ConfigError('cannot read registries.d directory %s: %s' % (directory, exc.strerror), path=directory)
        default = None
        docker = {}
        for name in names:
            path = os.path.join(directory, name)
            data = _load_yaml(path)
            if not isinstance(data, dict):
                raise ConfigError('%s: expected a mapping with default-docker and/or docker' % path, path=path)
            unknown = sorted(set(data) - set(['default-docker', 'docker']))
            if unknown:
                raise ConfigError('%s: unknown top-level key(s) %s' % (path, ', '.join(unknown)), path=path)
            if 'default-docker' in data:
                if default is not None:
                    raise ConfigError('default-docker is defined in more than one file of %s (again in %s)' % (directory, name),
                                      path=path)
                default = _Entry(data['default-docker'], '%s: default-docker' % path)
            for scope, entry in (data.get('docker') or {}).items():
                if scope in docker:
                    raise ConfigError('docker scope %s is defined in more than one file of %s (again in %s)' % (scope, directory, name),
                                      path=path)
                docker[scope] = _Entry(entry, '%s: docker: %s' % (path, scope))
        return cls(directory, default, docker)

    def _lookup(self, ref, getter):
        for scope in scopes_for(ref):
            entry = self.docker.get(scope)
            if entry is not None and getter(entry) is not None:
                return getter(entry)
        return getter(self.default)

    def lookaside_read(self, ref):
        return self._lookup(ref, lambda e: e.read_url()) or builtin_lookaside()

    def lookaside_write(self, ref):
        return self._lookup(ref, lambda e: e.write_url()) or builtin_lookaside()

    def use_sigstore_attachments(self, ref):
        return bool(self._lookup(ref, lambda e: e.data.get('use-sigstore-attachments')))


def _load_yaml(path):
    # PyYAML is imported only when a registries.d file is there to read: policy.py (and with it every pull) imports
    # this module for scopes_for.
    try:
        import yaml
    except ImportError:  # pragma: no cover - depends on the target
        raise ConfigError('reading %s needs the Python library PyYAML on the target' % path, path=path)
    try:
        with open(path, 'rb') as handle:
            raw = handle.read(documents.REGISTRIES_D.max_bytes + 1)
    except (IOError, OSError) as exc:
        raise ConfigError('cannot read %s: %s' % (path, getattr(exc, 'strerror', None) or exc), path=path)
    return documents.load_yaml(raw, path, documents.REGISTRIES_D, yaml, ConfigError, path=path) or {}


# -- the lookaside store ------------------------------------------------------------------------------------------

def signature_dir_url(base, ref, digest):
    """URL of the directory holding the signatures of ``digest`` of ``ref``'s repository under ``base``."""
    algorithm, dummy, hexpart = digest.partition(':')
    return '%s/%s@%s=%s' % (base.rstrip('/'), ref.repository, algorithm, hexpart)


def _file_path(url, what):
    parts = urlsplit(url)
    if parts.scheme != 'file':
        return None
    if parts.netloc not in ('', 'localhost'):
        raise ConfigError('%s %s: a file:// URL must not name a host' % (what, url))
    return unquote(parts.path)


def read_signatures(base, ref, digest, http_get=None):
    """The raw simple signatures stored for ``digest`` (list of bytes, in order). ``http_get(url)`` -> (status, bytes)
    reads http(s) lookasides (optional)."""
    url = signature_dir_url(base, ref, digest)
    path = _file_path(url, 'lookaside')
    out = []
    for index in range(1, MAX_SIGNATURES + 1):
        if path is not None:
            name = os.path.join(path, 'signature-%d' % index)
            try:
                with open(name, 'rb') as handle:
                    data = handle.read(MAX_SIGNATURE_SIZE + 1)
            except (IOError, OSError) as exc:
                if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                    break
                raise ConfigError('cannot read signature %s: %s' % (name, exc.strerror), path=name)
        elif urlsplit(url).scheme in ('http', 'https'):
            if http_get is None:
                raise ConfigError('lookaside %s: reading an http(s) lookaside is not possible here' % shown_url(base))
            status, data = http_get('%s/signature-%d' % (url, index))
            if status == 404:
                break
            if status != 200:
                raise RegistryError('lookaside %s/signature-%d answered HTTP %s' % (shown_url(url), index, status), status=status)
        else:
            raise ConfigError('lookaside %s: only file://, http:// and https:// URLs can be read' % base)
        if len(data) > MAX_SIGNATURE_SIZE:
            raise ConfigError('signature %d of %s in %s is larger than 4 MiB' % (index, digest, base))
        out.append(data)
    return out


def shown_url(url):
    """``url`` without user:password@ (a lookaside URL may carry credentials; messages must not)."""
    parts = urlsplit(url)
    if '@' not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rsplit('@', 1)[1]).geturl()


class WebLookaside(object):
    """``http_get`` for read_signatures: ``(url) -> (status, bytes)`` for an http(s) lookaside.

    TLS follows the registry side's options (``RegistryOptions``): ``validate_certs: false`` verifies nothing;
    ``ca_cert`` is the registry's private CA, which need not sign the lookaside host, so the system trust is tried
    first and ``ca_cert`` when that fails (as the registry client does for redirects to another origin). ``insecure``
    is not applied: it allows plain http for the registry, and a lookaside URL says http or https itself. Neither
    registry credentials nor client certificates are sent to the lookaside host. One requests.Session for all reads.
    A connection failure, a timeout or HTTP 429/5xx is retried ``options.retries`` times (default 3) with
    exponential backoff from 0.5 s; the last failure is the one reported.
    """

    def __init__(self, options=None, session=None, sleep=None):
        self.options = options
        self.timeout = (getattr(options, 'timeout', None) or 30.0)
        retries = getattr(options, 'retries', None)
        self.retries = max(0, int(retries if retries is not None else 3))
        self.session = session
        self._sleep = sleep or time.sleep
        self.requests = 0

    def _verify(self):
        opts = self.options
        if opts is not None and opts.validate_certs is False:
            return [False]
        if opts is not None and opts.ca_cert:
            return [True, opts.ca_cert]
        return [True]

    def _get(self, url, verify):
        self.requests += 1
        return self.session.get(url, stream=True, timeout=self.timeout, verify=verify, headers={'Accept': '*/*'})

    def __call__(self, url):
        if not HAS_REQUESTS:
            raise ConfigError('reading signatures from the lookaside %s needs the Python library requests on the target'
                              % shown_url(url))
        if self.session is None:
            self.session = requests.Session()
        attempt = 0
        while True:
            try:
                status, data = self._read(url)
            except RegistryUnreachableError:
                if attempt >= self.retries:
                    raise
            else:
                if status not in RETRY_STATUSES or attempt >= self.retries:
                    return status, data
            self._sleep(backoff_delay(attempt))
            attempt += 1

    def _read(self, url):
        choices = self._verify()
        response = None
        for position, verify in enumerate(choices):
            try:
                response = self._get(url, verify)
                break
            except requests.exceptions.SSLError as exc:
                if position + 1 < len(choices):
                    continue
                raise TLSError('TLS verification of the lookaside %s failed: %s; pass ca_cert (the CA bundle that signs it) '
                               'or validate_certs: false' % (shown_url(url), _short(exc)))
            except requests.exceptions.Timeout:
                raise RegistryUnreachableError('the lookaside %s did not answer within %s s' % (shown_url(url), self.timeout))
            except requests.exceptions.RequestException as exc:
                raise RegistryUnreachableError('cannot read the lookaside %s: %s' % (shown_url(url), _short(exc)))
        try:
            if response.status_code != 200:
                return response.status_code, b''
            data = bytearray()
            try:
                for chunk in response.iter_content(64 * 1024):
                    data.extend(chunk)
                    if len(data) > MAX_SIGNATURE_SIZE:
                        break
            except requests.exceptions.RequestException as exc:
                raise RegistryUnreachableError('reading %s from the lookaside failed: %s' % (shown_url(url), _short(exc)))
            return 200, bytes(data)
        finally:
            response.close()


def _short(exc):
    text = str(exc)
    return text if len(text) <= 300 else text[:300] + '...'


def check_writable(base, ref, digest):
    """The directory signatures of ``digest`` would be written to; FileWriteError when that cannot work."""
    path = _file_path(signature_dir_url(base, ref, digest), 'lookaside-staging')
    if path is None:
        raise ConfigError('lookaside %s cannot be written: only file:// URLs can (set lookaside-staging in registries.d '
                          'to a file:// directory that is published at the lookaside URL)' % base)
    probe = path
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if not os.path.isdir(probe) or not os.access(probe, os.W_OK | os.X_OK):
        raise FileWriteError('cannot write signatures to the lookaside directory %s: %s is not writable; run as a user '
                             'who may write there (become) or set lookaside-staging in registries.d' % (path, probe), path=path)
    return path


def write_signatures(base, ref, digest, signatures):
    """Store each of ``signatures`` (bytes) as the next free signature-N; skips one already stored byte for byte.
    Returns the paths written."""
    path = check_writable(base, ref, digest)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise FileWriteError('cannot create the lookaside directory %s: %s' % (path, exc.strerror), path=path)
    existing = read_signatures(base, ref, digest)
    written = []
    index = len(existing)
    for data in signatures:
        if data in existing:
            continue
        index += 1
        target = os.path.join(path, 'signature-%d' % index)
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(prefix='.tmp-signature-', dir=path)
            with os.fdopen(fd, 'wb') as handle:
                handle.write(data)
            os.chmod(tmp, 0o644)
            # link() fails when another writer took this N meanwhile: never overwrite someone's signature.
            os.link(tmp, target)
            os.unlink(tmp)
        except (IOError, OSError) as exc:
            if tmp and os.path.exists(tmp):
                os.unlink(tmp)
            raise FileWriteError('cannot write signature %s: %s' % (target, exc.strerror), path=target)
        existing.append(data)
        written.append(target)
    return written
