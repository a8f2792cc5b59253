# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""RegistryClient: the OCI distribution API over one requests.Session (internal; no stable API).

Redirects are followed here, not by requests, so the Authorization header only ever goes to the
registry's own origin (blob GETs usually redirect to object storage on another host).

Thread safety: one client may be shared by several threads (image_copy moves ``parallel`` blobs at once through
one client per side). ``stats``, the https probe and the Authenticator's token cache are guarded by locks; a
token is fetched by one thread while the others wait for it. ``verify_login`` and ``options`` changes are not
meant to run concurrently with requests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import email.utils
import re
import ssl
import threading
import time

from ansible_collections.podkit.containers.plugins.module_utils import documents
from ansible_collections.podkit.containers.plugins.module_utils.errors import (
    AuthenticationError,
    AuthorizationError,
    ConfigError,
    CredentialsWithheldError,
    DigestMismatchError,
    ManifestError,
    NotFoundError,
    PodkitError,
    RegistryError,
    RegistryUnreachableError,
    TLSError,
    TransferError,
)
from ansible_collections.podkit.containers.plugins.module_utils.registry.auth import (
    INSECURE_HINT,
    LOGIN_HINT,
    LOGIN_REJECTED_HINT,
    Authenticator,
    _public_url,
    basic_auth_value,
    repository_scope,
)
from ansible_collections.podkit.containers.plugins.module_utils.registry.manifest import (
    ACCEPT_ALL,
    MAX_CONFIG_SIZE,
    MAX_MANIFEST_SIZE,
    SCHEMA1_TYPES,
    digest_of,
    hasher_for,
    is_digest,
    parse_manifest,
)
from ansible_collections.podkit.containers.plugins.module_utils.options import RegistryOptions
from ansible_collections.podkit.containers.plugins.module_utils.registry.reference import (
    DOCKER_HUB, DOCKER_HUB_API_HOST, is_docker_hub,
)

try:
    from urllib.parse import quote, urlencode, urljoin, urlsplit, urlunsplit
except ImportError:  # pragma: no cover - Python 2 is not a target
    from urllib import quote, urlencode  # type: ignore
    from urlparse import urljoin, urlsplit, urlunsplit  # type: ignore

try:
    import http.client as _http_client
except ImportError:  # pragma: no cover - Python 2 is not a target
    import httplib as _http_client  # type: ignore

try:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.exceptions import HTTPError as _Urllib3Error
    from urllib3.exceptions import InvalidHeader as _Urllib3InvalidHeader
    from urllib3.exceptions import LocationValueError as _LocationValueError
    from urllib3.exceptions import SSLError as _Urllib3SSLError
    from urllib3.util.ssl_ import create_urllib3_context
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
    # A connection that failed, broke or was slow: worth another attempt.
    _NETWORK_ERRORS = (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                       requests.exceptions.ChunkedEncodingError, _Urllib3Error)
    # Raised by requests/urllib3 as well, but the same request fails the same way again: a bad URL or header, a
    # TLS verdict, too many redirects, a body that does not decode.
    _PERMANENT_ERRORS = (requests.exceptions.SSLError, _Urllib3SSLError, requests.exceptions.InvalidURL,
                         requests.exceptions.InvalidHeader, _Urllib3InvalidHeader, requests.exceptions.MissingSchema,
                         requests.exceptions.InvalidSchema, requests.exceptions.URLRequired,
                         requests.exceptions.TooManyRedirects, requests.exceptions.ContentDecodingError, _LocationValueError)
    # Everything else a request can raise from inside requests, urllib3, http.client or ssl: a missing CA file
    # (OSError), a timeout requests refuses (ValueError), a header that does not encode (UnicodeError). Mapped to a
    # typed error, never passed on.
    _TRANSPORT_ERRORS = (requests.exceptions.RequestException, _Urllib3Error, _http_client.HTTPException, OSError, ValueError)
except ImportError as _exc:  # pragma: no cover - depends on the target
    requests = None
    HTTPAdapter = None
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = str(_exc)
    _NETWORK_ERRORS = ()
    _PERMANENT_ERRORS = ()
    _TRANSPORT_ERRORS = ()

RETRY_STATUSES = (429, 500, 502, 503, 504)
BACKOFF_BASE = 0.5
BACKOFF_MAX = 10.0
MAX_RETRY_AFTER = 30.0
MAX_REDIRECTS = 10
CHUNK_SIZE = 1024 * 1024
# requests' own default: connections kept per host.
DEFAULT_POOL_SIZE = 10
_ERROR_BODY_LIMIT = documents.ERROR_BODY.max_bytes
_TAG_LIST_SHAPE = documents.Object(optional={'tags': documents.Nullable(documents.ListOf(str))})
_REDIRECTS = (301, 302, 303, 307, 308)
# What OpenSSL says when the other side answers a ClientHello with plain http.
_NOT_TLS_MARKERS = ('wrong version number', 'wrong_version_number', 'record layer failure', 'record_layer_failure',
                    'unknown protocol', 'http request', 'packet length too long', 'unexpected eof')
_LINK_NEXT_RE = re.compile(r'<([^>]*)>\s*;[^,]*?rel="?next"?', re.IGNORECASE)
# A query may hold an upload state or a pre-signed storage URL: never part of a message.
_QUERY_RE = re.compile(r'\?[^\s\'")]*')
# OpenSSL X509_V_ERR_* codes (ssl.SSLCertVerificationError.verify_code) that TLS messages tell apart.
_CERT_NOT_YET_VALID = 9
_CERT_EXPIRED = 10
_CERT_HOST_MISMATCH = (62, 64)
_CERT_UNKNOWN_ISSUER = (2, 18, 19, 20, 21)
# TLS alerts the server sends when it does not accept (or wants) the client certificate.
_CLIENT_CERT_ALERTS = ('alert certificate required', 'alert bad certificate', 'alert unknown ca', 'alert certificate unknown',
                       'alert handshake failure')
# Answers to a monolithic upload PUT that mean "not this way": 405/501 (distribution spec), 400/415 (older Pulp
# behind Satellite, registries that only take chunks).
_MONOLITHIC_REFUSED = (400, 405, 415, 501)
# The chunked flow of the distribution spec ("Pushing a blob in chunks"): each PATCH carries Content-Range.
UPLOAD_CHUNK_SIZE = 8 * 1024 * 1024

# What the https probe of an insecure registry found, per host, for the life of the process: a second client
# for the same registry (image_copy within one registry, a role's next task in the same worker) does not probe
# again. Only probe results go in here; registries not marked insecure never probe.
_KNOWN_SCHEMES = {}
_KNOWN_SCHEMES_LOCK = threading.Lock()


def forget_known_schemes():
    """Drop what https probes learned (tests start registries on recycled ports)."""
    with _KNOWN_SCHEMES_LOCK:
        _KNOWN_SCHEMES.clear()


_UNVERIFIED_CONTEXT = []
_UNVERIFIED_CONTEXT_LOCK = threading.Lock()


def _unverified_context(private):
    """An SSL context that verifies nothing and holds no CA certificates. Shared by the process's clients unless
    ``private`` (a client certificate gets loaded into the context, which must then be the client's own)."""
    if private:
        return create_urllib3_context(cert_reqs=ssl.CERT_NONE)
    with _UNVERIFIED_CONTEXT_LOCK:
        if not _UNVERIFIED_CONTEXT:
            _UNVERIFIED_CONTEXT.append(create_urllib3_context(cert_reqs=ssl.CERT_NONE))
        return _UNVERIFIED_CONTEXT[0]


if HAS_REQUESTS:
    class _Adapter(HTTPAdapter):
        """requests' adapter; unverified https (insecure registries, validate_certs: false, the https probe) gets an
        SSL context without CA certificates. Left alone, urllib3 creates a context and loads the system's CA store
        into it for every new unverified connection (~15-20 ms of CPU each), only to not use it."""

        def __init__(self, *args, **kwargs):
            self._unverified_context = None
            super(_Adapter, self).__init__(*args, **kwargs)

        def build_connection_pool_key_attributes(self, request, verify, cert=None):
            # requests >= 2.32 asks this for every request; older versions never call it and keep their behaviour.
            host_params, pool_kwargs = super(_Adapter, self).build_connection_pool_key_attributes(request, verify, cert)
            if verify is False and host_params.get('scheme') == 'https':
                if self._unverified_context is None:
                    self._unverified_context = _unverified_context(private=bool(cert))
                pool_kwargs['ssl_context'] = self._unverified_context
            return host_params, pool_kwargs
else:  # pragma: no cover - depends on the target
    _Adapter = None


class Credentials(object):
    """Username/password or identity token; repr never shows the secret."""

    __slots__ = ('username', 'password', 'identity_token')

    def __init__(self, username=None, password=None, identity_token=None):
        self.username = username
        self.password = password
        self.identity_token = identity_token

    def __repr__(self):
        return 'Credentials(username=%r, secret=%s)' % (self.username, '<hidden>' if (self.password or self.identity_token) else None)


def _reference_text(repository, reference):
    if is_digest(reference):
        return '%s@%s' % (repository, reference)
    return '%s:%s' % (repository, reference)


def _media_type(response):
    return (response.headers.get('Content-Type') or '').split(';', 1)[0].strip()


def _short(exc):
    text = ' '.join(_QUERY_RE.sub('?...', str(exc)).split())
    return text if len(text) <= 300 else text[:300] + '...'


def _tls_cause(exc):
    """(verify_code or None, reason) of the innermost ssl error behind ``exc`` (requests -> urllib3 -> ssl)."""
    seen = set()
    stack = [exc]
    found = None
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ssl.SSLCertVerificationError):
            return item.verify_code, item.verify_message or item.reason or str(item)
        if isinstance(item, ssl.SSLError) and found is None:
            found = item
        stack.extend(arg for arg in getattr(item, 'args', ()) if isinstance(arg, BaseException))
        stack.extend((getattr(item, 'reason', None), item.__cause__, item.__context__))
    if found is not None:
        reason = getattr(found, 'reason', None)
        return None, re.sub(r'\s*\(_ssl\.c:\d+\)', '', reason.lower().replace('_', ' ') if reason else str(found))
    return None, None


def backoff_delay(attempt, retry_after=None):
    """Seconds to wait before retry number ``attempt + 1``: the server's Retry-After (capped), else exponential."""
    if retry_after is not None:
        return min(retry_after, MAX_RETRY_AFTER)
    return min(BACKOFF_BASE * (2 ** attempt), BACKOFF_MAX)


def parse_retry_after(value, now=None):
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        parsed = email.utils.parsedate_tz(value)
    except (TypeError, ValueError):
        parsed = None
    if not parsed:
        return None
    return max(0.0, email.utils.mktime_tz(parsed) - (now if now is not None else time.time()))


class _UploadBody(object):
    """An upload body: iterating yields the blob's chunks as they come, ``len()`` gives Content-Length.

    An iterable, not a file: urllib3 reads a file body in 16 KiB blocks (one Python call, slice and ``send`` each),
    but sends each chunk of an iterable with one ``sendall``. ``stream`` is a file-like object (read in CHUNK_SIZE
    blocks) or an iterator of byte chunks. Counts the bytes; hashes them when ``verify`` (the caller's stream is not
    verified already). Never sends more than ``size`` bytes, which would run into the next request on the
    connection; a short or mismatching stream raises DigestMismatchError at its end, which aborts the request.
    """

    def __init__(self, stream, size, digest, verify, what):
        self._stream = stream
        self._size = size
        self._digest = digest
        self._what = what
        self.hasher = hasher_for(digest) if verify else None
        self.count = 0

    def __len__(self):
        return self._size

    def __iter__(self):
        stream = self._stream
        if hasattr(stream, 'read'):
            chunks = iter(lambda: stream.read(CHUNK_SIZE), b'')
        else:
            chunks = stream
        hasher = self.hasher
        for chunk in chunks:
            if not chunk:
                continue
            self.count += len(chunk)
            if self.count > self._size:
                raise DigestMismatchError('the local content of %s is larger than %d bytes' % (self._what, self._size),
                                          expected_size=self._size)
            if hasher is not None:
                hasher.update(chunk)
            yield chunk
        if self.count != self._size:
            raise DigestMismatchError('the local content of %s has %d bytes, expected %d' % (self._what, self.count, self._size),
                                      expected_size=self._size, actual_size=self.count)
        if hasher is not None:
            actual = '%s:%s' % (self._digest.partition(':')[0], hasher.hexdigest())
            if actual != self._digest:
                raise DigestMismatchError('the local content of %s has %d bytes and digest %s, expected %d bytes and %s'
                                          % (self._what, self.count, actual, self._size, self._digest),
                                          expected=self._digest, actual=actual)

    def close(self):
        close = getattr(self._stream, 'close', None)
        if close:
            close()


class RegistryClient(object):
    """Talks the distribution API to one registry.

    ``registry`` is ``host[:port]`` (docker.io is reached at registry-1.docker.io). ``conf`` offers
    ``is_insecure(registry)``; ``credentials`` is a callable ``(registry, repository) -> credentials or None``.
    ``sleep`` and ``clock`` are injectable for tests. ``pool_size`` is the number of connections kept per
    host (requests keeps 10): give at least the number of threads that share the client.

    ``stats`` counts the HTTP requests made to the registry and its token server, per method. The https probe
    of an insecure registry is not among them: it is counted in ``probes`` (0 or 1).
    """

    def __init__(self, registry, options=None, conf=None, session=None, credentials=None, sleep=None, clock=None,
                 pool_size=None):
        if not HAS_REQUESTS:  # pragma: no cover - common.require_registry_libs fails first unless the install is broken
            raise RegistryError('the Python library requests (with urllib3) is required to talk to registry %s, and importing it '
                                'on this host failed: %s; install or repair it there' % (registry, REQUESTS_IMPORT_ERROR),
                                registry=registry)
        name = (registry or '').strip()
        for prefix in ('https://', 'http://'):
            if name.lower().startswith(prefix):
                name = name[len(prefix):]
        name = name.rstrip('/')
        if not name:
            raise RegistryError('no registry given')
        if is_docker_hub(name):
            self.registry = DOCKER_HUB
            self.host = DOCKER_HUB_API_HOST
        else:
            self.registry = name
            self.host = name
        self.options = options or RegistryOptions()
        self.options.validate()
        self.insecure = bool(self.options.insecure) or bool(conf is not None and conf.is_insecure(self.registry))
        self.session = session if session is not None else requests.Session()
        if session is None or pool_size:
            adapter = _Adapter(pool_maxsize=max(1, int(pool_size or DEFAULT_POOL_SIZE)))
            self.session.mount('https://', adapter)
            self.session.mount('http://', adapter)
        self._configure_tls()
        self.stats = {}
        self.probes = 0
        self._stats_lock = threading.Lock()
        self._scheme_lock = threading.Lock()
        self.retries = max(0, int(self.options.retries if self.options.retries is not None else 3))
        self.timeout = self.options.timeout or 30.0
        self._sleep = sleep or time.sleep
        self._clock = clock or time.time
        self._scheme = None
        self._monolithic = True
        self._credentials_cb = credentials
        self._credentials_cache = {}
        self._login_credentials = None
        self.auth = Authenticator(self.registry, self._send_token, self._credentials_for, clock=self._clock, timeout=self.timeout,
                                  cleartext_ok=self._cleartext_ok)

    # -- transport --------------------------------------------------------------------------------
    def _configure_tls(self):
        opts = self.options
        if self.insecure or not opts.validate_certs:
            self.session.verify = False
        elif opts.ca_cert:
            self.session.verify = opts.ca_cert
        else:
            self.session.verify = True
        if opts.client_cert:
            self.session.cert = (opts.client_cert, opts.client_key) if opts.client_key else opts.client_cert

    @property
    def scheme(self):
        return self._scheme

    def _send_raw(self, method, url, **kwargs):
        with self._stats_lock:
            self.stats[method] = self.stats.get(method, 0) + 1
        kwargs.setdefault('timeout', self.timeout)
        # Per request: requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override a Session's verify (requests#3829),
        # which would silently drop ca_cert or validate_certs: false.
        kwargs.setdefault('verify', self.session.verify)
        return self.session.request(method, url, **kwargs)

    def _cleartext_ok(self):
        """Credentials may cross plain http only for a registry that is marked insecure and speaks plain http."""
        return self.insecure and self._scheme == 'http'

    def _send_token(self, method, url, **kwargs):
        """A request to the token server: its transport failures become typed errors naming it."""
        try:
            return self._send_raw(method, url, **kwargs)
        except _TRANSPORT_ERRORS as exc:
            raise self._transport_error(exc, peer='token server %s of registry %s' % (_public_url(url), self.registry),
                                        noun='token server')

    def _origin(self, url):
        parts = urlsplit(url)
        default = {'https': 443, 'http': 80}.get(parts.scheme)
        try:
            port = parts.port or default
        except ValueError:
            port = None
        return (parts.scheme, (parts.hostname or '').lower(), port)

    def _base(self):
        return '%s://%s' % (self._scheme or 'https', self.host)

    def _url(self, path):
        if path.startswith(('https://', 'http://')):
            return path
        return self._base() + path

    def _ensure_scheme(self):
        if self._scheme:
            return
        if not self.insecure:
            self._scheme = 'https'
            return
        with self._scheme_lock:
            if self._scheme:
                return
            with _KNOWN_SCHEMES_LOCK:
                known = _KNOWN_SCHEMES.get(self.host.lower())
            if known is None:
                known = self._probe_scheme()
                with _KNOWN_SCHEMES_LOCK:
                    _KNOWN_SCHEMES[self.host.lower()] = known
            self._scheme = known

    def _probe_scheme(self):
        # As podman does for insecure registries: https without verification first, plain http if that fails.
        with self._stats_lock:
            self.probes += 1
        kwargs = dict(timeout=self.timeout, verify=self.session.verify, allow_redirects=False)
        try:
            response = self.session.request('GET', 'https://%s/v2/' % self.host, **kwargs)
        except _TRANSPORT_ERRORS:
            # Whatever stopped https (plain http answering, a reset, a bad URL): plain http is tried next, and a
            # failure there is the one reported.
            return 'http'
        if response.status_code == 401:
            self.auth.learn(response.headers.get('WWW-Authenticate'))
        response.close()
        return 'https'

    def _transport_error(self, exc, repository=None, peer=None, noun='registry'):
        """The typed error for anything requests, urllib3, http.client or ssl raised while sending a request."""
        peer = peer or 'registry %s' % self.registry
        text = _short(exc)
        lowered = text.lower()
        kw = dict(registry=self.registry, repository=repository)
        is_ssl = isinstance(exc, (requests.exceptions.SSLError, _Urllib3SSLError, ssl.SSLError))
        if is_ssl or ('ssl' in lowered and 'error' in lowered and isinstance(exc, requests.exceptions.ConnectionError)):
            return self._tls_error(exc, peer, kw)
        if isinstance(exc, (requests.exceptions.InvalidHeader, _Urllib3InvalidHeader, UnicodeError)):
            # requests quotes the offending header value, which may be a token: never passed on.
            return TransferError('a request to %s was not sent: a header value (a media type, user name or token) holds '
                                 'control or non-ASCII characters' % peer, **kw)
        if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
                            requests.exceptions.URLRequired, _LocationValueError, _http_client.InvalidURL)):
            return RegistryError('cannot build a valid URL for %s (%s); check the registry name: host[:port] with a port '
                                 'from 1 to 65535' % (peer, text), **kw)
        if isinstance(exc, requests.exceptions.TooManyRedirects):
            return TransferError('%s redirected more than %d times' % (peer, MAX_REDIRECTS), **kw)
        if isinstance(exc, requests.exceptions.ContentDecodingError):
            return TransferError('%s answered a body that cannot be decoded (%s)' % (peer, text), **kw)
        if isinstance(exc, requests.exceptions.Timeout) or 'timed out' in lowered:
            return RegistryUnreachableError('%s did not answer within %s s; check the network or raise timeout'
                                            % (peer, self.timeout), **kw)
        if 'connection refused' in lowered or 'errno 111' in lowered:
            return RegistryUnreachableError('cannot connect to %s: connection refused; check the address and that the %s is '
                                            'running' % (peer, noun), **kw)
        if 'name or service not known' in lowered or 'nodename nor servname' in lowered or 'nameresolution' in lowered \
                or 'failed to resolve' in lowered or 'temporary failure in name resolution' in lowered:
            return RegistryUnreachableError('cannot resolve the host name of %s; check the address' % peer, **kw)
        if isinstance(exc, OSError) and not isinstance(exc, requests.exceptions.RequestException) \
                and ('tls' in lowered or 'certificate' in lowered or 'key file' in lowered):
            # requests' "Could not find the TLS certificate file, invalid path: ..." when a file vanished after the
            # options were checked.
            return ConfigError('cannot use the TLS files for %s: %s; check ca_cert, client_cert and client_key' % (peer, text), **kw)
        if isinstance(exc, ValueError) and not isinstance(exc, requests.exceptions.RequestException):
            return ConfigError('cannot send a request to %s: %s; check timeout (seconds, more than 0) and the registry '
                               'name' % (peer, text), **kw)
        return RegistryUnreachableError('cannot connect to %s: %s' % (peer, text), **kw)

    def _tls_error(self, exc, peer, kw):
        """A TLS failure named by its cause: expired, not yet valid, wrong host, unknown CA, client certificate."""
        code, reason = _tls_cause(exc)
        text = _short(exc)
        lowered = ((reason or '') + ' ' + text).lower()
        reason = reason or text
        ca_cert = self.options.ca_cert
        if code == _CERT_EXPIRED or 'certificate has expired' in lowered:
            return TLSError('the TLS certificate of %s has expired (%s); renew the certificate, or check the clock of this host'
                            % (peer, reason), **kw)
        if code == _CERT_NOT_YET_VALID or 'certificate is not yet valid' in lowered:
            return TLSError('the TLS certificate of %s is not yet valid (%s); check the clock of this host and the start date of '
                            'the certificate' % (peer, reason), **kw)
        if code in _CERT_HOST_MISMATCH or 'hostname mismatch' in lowered or "doesn't match" in lowered \
                or 'ip address mismatch' in lowered:
            return TLSError('certificate of %s does not match its host name: %s; use a name the certificate lists '
                            '(localhost and 127.0.0.1 differ)' % (peer, reason), **kw)
        if code in _CERT_UNKNOWN_ISSUER or 'self-signed' in lowered or 'self signed' in lowered or 'issuer' in lowered:
            if ca_cert:
                return TLSError('certificate verify failed for %s: it is not issued by a CA in ca_cert %s (%s); give ca_cert the '
                                'CA that issued it' % (peer, ca_cert, reason), **kw)
            return TLSError('certificate verify failed for %s: it is issued by a CA this host does not trust (%s); pass ca_cert '
                            '(the CA bundle) or validate_certs: false' % (peer, reason), **kw)
        if code is not None or 'certificate verify failed' in lowered:
            return TLSError('certificate verify failed for %s: %s' % (peer, reason), **kw)
        if any(alert in lowered for alert in _CLIENT_CERT_ALERTS):
            if self.options.client_cert:
                return TLSError('%s refused the TLS client certificate %s (%s); pass a client_cert and client_key it accepts'
                                % (peer, self.options.client_cert, reason), **kw)
            return TLSError('%s ended the TLS handshake (%s); if it requires a client certificate, pass client_cert and client_key'
                            % (peer, reason), **kw)
        if any(marker in lowered for marker in _NOT_TLS_MARKERS):
            return TLSError('%s does not speak TLS (%s); mark it insecure (%s) if plain http is intended'
                            % (peer, text, INSECURE_HINT), **kw)
        return TLSError('TLS handshake with %s failed: %s' % (peer, reason), **kw)

    def _backoff(self, attempt, retry_after=None):
        delay = backoff_delay(attempt, retry_after)
        if delay > 0:
            self._sleep(delay)

    def _send_following(self, method, url, headers, data, stream):
        """One request, following redirects of GET/HEAD ourselves; Authorization only to the registry origin."""
        base_origin = self._origin(self._base())
        headers = dict(headers)
        withheld = None
        if 'Authorization' in headers and self._origin(url) != base_origin:
            del headers['Authorization']
            withheld = _public_url(url)
        for dummy in range(MAX_REDIRECTS + 1):
            if self._origin(url) != base_origin:
                response = self._send_elsewhere(method, url, headers, data, stream)
            else:
                response = self._send_raw(method, url, headers=headers, data=data, stream=stream, allow_redirects=False)
            location = response.headers.get('Location')
            if response.status_code not in _REDIRECTS or not location or method not in ('GET', 'HEAD'):
                # Read by _error: a 401 from an origin that never saw the credentials is no verdict on them.
                response.podkit_withheld_from = withheld
                return response
            response.close()
            url = urljoin(response.url or url, location)
            if not url.startswith(('https://', 'http://')):
                raise TransferError('registry %s redirected to an unsupported URL scheme' % self.registry, registry=self.registry)
            if self._origin(url) != base_origin and 'Authorization' in headers:
                del headers['Authorization']
                withheld = _public_url(url)
        raise TransferError('registry %s redirected more than %d times' % (self.registry, MAX_REDIRECTS), registry=self.registry)

    def _send_elsewhere(self, method, url, headers, data, stream):
        """A redirect to another origin (blob storage, a CDN): ``ca_cert`` is the registry's private CA and need
        not sign that host, so the system trust is tried first and the private CA only if that fails."""
        verify = self.session.verify
        if not isinstance(verify, str):
            return self._send_raw(method, url, headers=headers, data=data, stream=stream, allow_redirects=False)
        try:
            return self._send_raw(method, url, headers=headers, data=data, stream=stream, allow_redirects=False,
                                  verify=True)
        except requests.exceptions.SSLError:
            return self._send_raw(method, url, headers=headers, data=data, stream=stream, allow_redirects=False,
                                  verify=verify)

    def _request(self, method, path, scopes=None, repository=None, headers=None, data=None, stream=False, retry=True):
        """Send with auth, one re-authentication on 401 and retries on transient failures.

        ``scopes`` None means an anonymous request that does not react to 401. ``data`` may be a callable
        returning a fresh body for every attempt. Returns the final response (any status).
        """
        self._ensure_scheme()
        url = self._url(path)
        attempt = 0
        reauthenticated = False
        while True:
            send_headers = dict(headers or {})
            if scopes is not None:
                value = self.auth.authorization(scopes, repository=repository)
                if value:
                    send_headers['Authorization'] = value
            body = data() if callable(data) else data
            try:
                response = self._send_following(method, url, send_headers, body, stream)
            except _PERMANENT_ERRORS as exc:
                raise self._transport_error(exc, repository)
            except _NETWORK_ERRORS as exc:
                if retry and attempt < self.retries:
                    self._backoff(attempt)
                    attempt += 1
                    continue
                raise self._transport_error(exc, repository)
            except _TRANSPORT_ERRORS as exc:
                raise self._transport_error(exc, repository)
            finally:
                if callable(data) and hasattr(body, 'close'):
                    body.close()
            status = response.status_code
            if status == 401 and scopes is not None and not reauthenticated:
                challenge = self.auth.learn(response.headers.get('WWW-Authenticate'))
                usable = challenge is not None and (challenge.scheme == 'bearer' or self.auth.credentials(repository) is not None)
                if usable and not (challenge.scheme == 'basic' and 'Authorization' in send_headers):
                    reauthenticated = True
                    if challenge.scopes:
                        scopes = list(scopes) + list(challenge.scopes)
                    self.auth.forget(scopes, rejected=send_headers.get('Authorization', ''))
                    response.close()
                    continue
            if status in RETRY_STATUSES and retry and attempt < self.retries:
                wait = parse_retry_after(response.headers.get('Retry-After'), self._clock()) if status in (429, 503) else None
                response.close()
                self._backoff(attempt, wait)
                attempt += 1
                continue
            return response

    # -- errors -----------------------------------------------------------------------------------
    @staticmethod
    def _error_body(response):
        try:
            if response.request is not None and response.request.method == 'HEAD':
                return ''
        except AttributeError:
            pass
        try:
            chunks = []
            total = 0
            for chunk in response.iter_content(8192):
                chunks.append(chunk)
                total += len(chunk)
                if total >= _ERROR_BODY_LIMIT:
                    break
            return b''.join(chunks)[:_ERROR_BODY_LIMIT].decode('utf-8', 'replace')
        except Exception:  # pylint: disable=broad-except
            return ''
        finally:
            response.close()

    @staticmethod
    def _server_errors(text):
        """(codes, "CODE: message; ...") from the distribution error body."""
        try:
            body = documents.load_json(text, 'the error body', documents.ERROR_BODY)
        except PodkitError:  # a body that is no distribution error (HTML, truncated, hostile) says nothing more
            return [], ''
        errors = body.get('errors') if isinstance(body, dict) else None
        if not isinstance(errors, list):
            return [], ''
        codes = []
        parts = []
        for item in errors:
            if not isinstance(item, dict):
                continue
            code = str(item.get('code') or '')
            message = str(item.get('message') or '')
            codes.append(code)
            parts.append(': '.join(p for p in (code, message) if p))
        return codes, '; '.join(parts)[:500]

    def _error(self, response, what, repository=None, not_found=None, body=None):
        """The typed error for an unexpected response to an operation on ``what`` (``body``: its error body, when read
        already)."""
        status = response.status_code
        codes, server = self._server_errors(self._error_body(response) if body is None else body)
        suffix = (' (%s)' % server) if server else ''
        kw = dict(registry=self.registry, repository=repository, status=status)
        if codes:
            kw['error_codes'] = codes
        withheld = getattr(response, 'podkit_withheld_from', None)
        if status == 401 and withheld:
            return CredentialsWithheldError('unauthorized: registry %s redirected %s to %s, another origin, which asks for '
                                            'credentials; they were withheld from it, not rejected (credentials only go to the '
                                            'registry itself)%s' % (self.registry, what, withheld, suffix), **kw)
        if status == 401:
            creds = self.auth.credentials(repository)
            if creds is not None and getattr(creds, 'username', None):
                return AuthenticationError('unauthorized: the registry %s rejected the credentials for user %s for %s%s; %s'
                                           % (self.registry, creds.username, what, suffix, LOGIN_HINT), **kw)
            return AuthenticationError('unauthorized: %s in registry %s requires authentication%s; %s'
                                       % (what, self.registry, suffix, LOGIN_HINT), **kw)
        if status == 403:
            return AuthorizationError('denied: access to %s in registry %s is forbidden%s' % (what, self.registry, suffix), **kw)
        if status == 404:
            if 'NAME_UNKNOWN' in codes and repository:
                return NotFoundError('repository %s not found in registry %s%s' % (repository, self.registry, suffix), **kw)
            return NotFoundError((not_found or '%s not found in registry %s') % (what, self.registry) + suffix, **kw)
        if status == 400 and ('DIGEST_INVALID' in codes or 'SIZE_INVALID' in codes):
            return DigestMismatchError('registry %s rejected %s: the content does not match its digest or size%s'
                                       % (self.registry, what, suffix), **kw)
        if status == 429:
            return TransferError('registry %s keeps answering 429 Too Many Requests for %s%s; try again later'
                                 % (self.registry, what, suffix), **kw)
        return TransferError('registry %s answered HTTP %d for %s%s' % (self.registry, status, what, suffix), **kw)

    # -- credentials ------------------------------------------------------------------------------
    def _credentials_for(self, repository=None):
        if self._login_credentials is not None:
            return self._login_credentials
        if self.options.username and self.options.password:
            return Credentials(self.options.username, self.options.password)
        if repository in self._credentials_cache:
            return self._credentials_cache[repository]
        if self._credentials_cb is not None:
            found = self._credentials_cb(self.registry, repository)
        else:
            found = self._lookup_credentials(repository)
        self._credentials_cache[repository] = found
        return found

    def _lookup_credentials(self, repository):
        try:
            from ansible_collections.podkit.containers.plugins.module_utils.registry import credentials as cred_module
        except ImportError:
            return None
        lookup = getattr(cred_module, 'lookup_credentials', None)
        if lookup is None:
            return None
        return lookup(self.registry, repository=repository, auth_file=self.options.auth_file)

    # -- API: base --------------------------------------------------------------------------------
    def ping(self):
        """GET /v2/ anonymously: dict(registry, scheme, status, auth ('basic'/'bearer'/None), realm, service, api_version)."""
        response = self._request('GET', '/v2/')
        status = response.status_code
        challenge = None
        if status == 401:
            challenge = self.auth.learn(response.headers.get('WWW-Authenticate'))
        elif status == 404:
            response.close()
            raise RegistryError('registry %s does not implement the distribution API v2 (GET /v2/ answered 404)' % self.registry,
                                registry=self.registry, status=status)
        elif status != 200:
            raise self._error(response, 'the API endpoint /v2/')
        response.close()
        return {
            'registry': self.registry,
            'scheme': self._scheme,
            'status': status,
            'auth': challenge.scheme if challenge else None,
            'realm': challenge.realm if challenge else None,
            'service': challenge.service if challenge else None,
            'api_version': response.headers.get('Docker-Distribution-API-Version'),
        }

    def verify_login(self, username, password=None, identity_token=None):
        """Check credentials against the registry; returns 'basic', 'bearer' or 'none' (no auth required).

        On success the client keeps using these credentials.
        """
        info = self.ping()
        creds = Credentials(username, password, identity_token)
        if info['auth'] is None:
            self._login_credentials = creds
            return 'none'
        rejected = 'unauthorized: the registry %s rejected the credentials for user %s; %s' % (self.registry, username,
                                                                                               LOGIN_REJECTED_HINT)
        if info['auth'] == 'basic':
            headers = {'Authorization': basic_auth_value(username, password)}
            response = self._request('GET', '/v2/', headers=headers)
            kind = 'basic'
        elif info['auth'] == 'bearer':
            token = self.auth.token((), credentials=creds, hint=LOGIN_REJECTED_HINT)
            response = self._request('GET', '/v2/', headers={'Authorization': 'Bearer ' + token.value})
            kind = 'bearer'
        else:
            raise AuthenticationError('registry %s asks for an unsupported authentication scheme %s' % (self.registry, info['auth']),
                                      registry=self.registry)
        status = response.status_code
        response.close()
        if status == 401 and not getattr(response, 'podkit_withheld_from', None):
            raise AuthenticationError(rejected, registry=self.registry, status=status)
        if status != 200:
            raise self._error(response, 'the API endpoint /v2/')
        self._login_credentials = creds
        self._credentials_cache.clear()
        return kind

    # -- API: manifests ---------------------------------------------------------------------------
    @staticmethod
    def _manifest_path(repository, reference):
        return '/v2/%s/manifests/%s' % (repository, quote(reference, safe=':@'))

    def head_manifest(self, repository, reference, accept=None):
        """dict(digest, mediaType, size) of a manifest; NotFoundError when it does not exist."""
        what = 'manifest for %s' % _reference_text(repository, reference)
        # distribution 2.8 answers 404 for an OCI manifest unless OCI types are accepted: always send them all.
        headers = {'Accept': ', '.join(accept or ACCEPT_ALL)}
        response = self._request('HEAD', self._manifest_path(repository, reference), scopes=[repository_scope(repository, 'pull')],
                                 repository=repository, headers=headers)
        if response.status_code == 404:
            # Older Harbor proxy caches answer 404 to HEAD for a manifest they serve to GET: only GET can tell a
            # missing manifest from that (its 404 is the NotFoundError).
            response.close()
            return self.get_manifest(repository, reference, accept=accept).descriptor
        if response.status_code != 200:
            raise self._error(response, what, repository)
        response.close()
        digest = response.headers.get('Docker-Content-Digest')
        if not is_digest(digest):
            digest = reference if is_digest(reference) else None
        media_type = _media_type(response)
        try:
            size = int(response.headers.get('Content-Length'))
        except (TypeError, ValueError):
            size = None
        if digest is None or not media_type:
            return self.get_manifest(repository, reference, accept=accept).descriptor
        return {'digest': digest, 'mediaType': media_type, 'size': size}

    def manifest_exists(self, repository, reference, accept=None):
        try:
            self.head_manifest(repository, reference, accept=accept)
        except NotFoundError:
            return False
        return True

    def get_manifest(self, repository, reference, accept=None):
        """The verified :class:`manifest.Manifest`."""
        ref_text = _reference_text(repository, reference)
        what = 'manifest for %s' % ref_text
        headers = {'Accept': ', '.join(accept or ACCEPT_ALL)}
        path = self._manifest_path(repository, reference)
        attempt = 0
        while True:
            response = self._request('GET', path, scopes=[repository_scope(repository, 'pull')], repository=repository,
                                     headers=headers, stream=True)
            if response.status_code != 200:
                raise self._error(response, what, repository)
            too_large = ManifestError('manifest of %s in registry %s is larger than 4 MiB' % (ref_text, self.registry),
                                      registry=self.registry, repository=repository)
            try:
                length = int(response.headers.get('Content-Length'))
            except (TypeError, ValueError):
                length = None
            if length is not None and length > MAX_MANIFEST_SIZE:
                response.close()
                raise too_large
            try:
                raw = self._read_capped(response, MAX_MANIFEST_SIZE)
            except _NETWORK_ERRORS as exc:
                response.close()
                if attempt < self.retries:
                    self._backoff(attempt)
                    attempt += 1
                    continue
                raise TransferError('reading %s from registry %s failed: %s' % (what, self.registry, _short(exc)),
                                    registry=self.registry, repository=repository)
            if raw is None:
                raise too_large
            break
        manifest = parse_manifest(raw, _media_type(response), expected_digest=reference if is_digest(reference) else None,
                                  registry=self.registry, repository=repository,
                                  what='manifest of %s in registry %s' % (ref_text, self.registry))
        announced = response.headers.get('Docker-Content-Digest')
        if is_digest(announced):
            actual = manifest.digest if announced.startswith('sha256:') else digest_of(raw, announced.partition(':')[0])
            if actual != announced:
                raise DigestMismatchError('manifest of %s in registry %s hashes to %s but the registry announced %s'
                                          % (ref_text, self.registry, actual, announced),
                                          registry=self.registry, repository=repository, expected=announced, actual=actual)
        return manifest

    @staticmethod
    def _read_capped(response, limit):
        """The body, or None as soon as it exceeds ``limit`` bytes (an endless body is never read whole)."""
        chunks = []
        total = 0
        try:
            for chunk in response.iter_content(65536):
                total += len(chunk)
                if total > limit:
                    return None
                chunks.append(chunk)
        finally:
            response.close()
        return b''.join(chunks)

    def put_manifest(self, repository, reference, raw, media_type):
        """Upload a manifest under a tag or digest; returns its digest (checked against the registry's)."""
        what = 'manifest for %s' % _reference_text(repository, reference)
        if media_type in SCHEMA1_TYPES:
            expected = parse_manifest(raw, media_type).digest
        else:
            expected = digest_of(raw)
        if is_digest(reference) and reference != expected:
            raise DigestMismatchError('manifest pushed as %s hashes to %s' % (_reference_text(repository, reference), expected),
                                      registry=self.registry, repository=repository, expected=reference, actual=expected)
        response = self._request('PUT', self._manifest_path(repository, reference),
                                 scopes=[repository_scope(repository, 'pull,push')], repository=repository,
                                 headers={'Content-Type': media_type}, data=raw)
        if response.status_code not in (200, 201, 202):
            raise self._error(response, what, repository)
        response.close()
        announced = response.headers.get('Docker-Content-Digest')
        if announced and is_digest(announced) and announced.startswith('sha256:') and announced != expected:
            raise DigestMismatchError('registry %s stored %s as %s, but it hashes to %s' % (self.registry, what, announced, expected),
                                      registry=self.registry, repository=repository, expected=expected, actual=announced)
        return expected

    def delete_manifest(self, repository, digest):
        response = self._request('DELETE', self._manifest_path(repository, digest),
                                 scopes=[repository_scope(repository, 'pull,push,delete')], repository=repository)
        if response.status_code not in (200, 202):
            raise self._error(response, 'manifest for %s' % _reference_text(repository, digest), repository)
        response.close()

    # -- API: blobs -------------------------------------------------------------------------------
    def _blob_what(self, repository, digest):
        return 'blob %s in repository %s' % (digest, repository)

    def blob_exists(self, repository, digest):
        """The blob's size when the repository has it, else None."""
        response = self._request('HEAD', '/v2/%s/blobs/%s' % (repository, digest), scopes=[repository_scope(repository, 'pull')],
                                 repository=repository)
        if response.status_code == 404:
            response.close()
            return None
        if response.status_code != 200:
            raise self._error(response, self._blob_what(repository, digest), repository)
        response.close()
        try:
            return int(response.headers.get('Content-Length'))
        except (TypeError, ValueError):
            return 0

    def iter_blob(self, repository, digest, size=None, chunk_size=CHUNK_SIZE):
        """Stream a blob in chunks, verifying digest and size; a dropped connection resumes with Range."""
        hasher = hasher_for(digest)
        what = self._blob_what(repository, digest)
        kw = dict(registry=self.registry, repository=repository)
        path = '/v2/%s/blobs/%s' % (repository, digest)
        scopes = [repository_scope(repository, 'pull')]
        offset = 0
        failures = 0
        while True:
            headers = {'Accept-Encoding': 'identity'}
            if offset:
                headers['Range'] = 'bytes=%d-' % offset
            response = self._request('GET', path, scopes=scopes, repository=repository, headers=headers, stream=True)
            status = response.status_code
            if status == 416 and size is not None and offset == size:
                response.close()
                break
            if status not in (200, 206):
                raise self._error(response, what, repository, not_found='%s not found in registry %s')
            skip = 0
            if offset:
                if status == 206:
                    match = re.match(r'^\s*bytes\s+(\d+)-', response.headers.get('Content-Range') or '')
                    if not match or int(match.group(1)) != offset:
                        response.close()
                        raise TransferError('registry %s answered a resumed download of %s with the wrong range %r'
                                            % (self.registry, what, response.headers.get('Content-Range')), **kw)
                else:
                    # The server ignored Range and sends everything again: drop what we already have.
                    skip = offset
            progressed = False
            try:
                length = int(response.headers.get('Content-Length'))
            except (TypeError, ValueError):
                length = None
            received = 0
            try:
                for chunk in response.raw.stream(chunk_size, decode_content=False):
                    received += len(chunk)
                    if skip:
                        if len(chunk) <= skip:
                            skip -= len(chunk)
                            continue
                        chunk = chunk[skip:]
                        skip = 0
                    offset += len(chunk)
                    if size is not None and offset > size:
                        response.close()
                        raise DigestMismatchError('%s of registry %s is larger than the announced %d bytes' % (what, self.registry, size),
                                                  expected_size=size, **kw)
                    hasher.update(chunk)
                    progressed = True
                    yield chunk
                # A short body that delivered its whole Content-Length is a size mismatch, not a dropped connection.
                complete = size is None or offset >= size or (length is not None and received >= length)
            except _NETWORK_ERRORS as exc:
                complete = False
                error = exc
            else:
                error = None
            finally:
                response.close()
            if complete:
                break
            failures = 0 if progressed else failures + 1
            if failures > self.retries:
                reason = _short(error) if error is not None else 'the connection closed early'
                raise TransferError('download of %s from registry %s was interrupted at byte %d: %s'
                                    % (what, self.registry, offset, reason), **kw)
            self._backoff(max(0, failures - 1))
        actual = '%s:%s' % (digest.partition(':')[0], hasher.hexdigest())
        if size is not None and offset != size:
            raise DigestMismatchError('%s of registry %s has %d bytes, expected %d' % (what, self.registry, offset, size),
                                      expected_size=size, actual_size=offset, **kw)
        if actual != digest:
            raise DigestMismatchError('%s of registry %s has digest %s' % (what, self.registry, actual),
                                      expected=digest, actual=actual, **kw)

    def download_blob(self, repository, digest, size, fileobj):
        """Write a verified blob to ``fileobj``; returns the number of bytes written."""
        written = 0
        for chunk in self.iter_blob(repository, digest, size=size):
            fileobj.write(chunk)
            written += len(chunk)
        return written

    def get_blob_bytes(self, repository, digest, max_size=MAX_CONFIG_SIZE):
        """A small verified blob (an image config) in memory; ManifestError beyond ``max_size``."""
        chunks = []
        total = 0
        for chunk in self.iter_blob(repository, digest, chunk_size=65536):
            total += len(chunk)
            if total > max_size:
                what = self._blob_what(repository, digest)
                raise ManifestError('%s of registry %s is larger than %d bytes' % (what, self.registry, max_size),
                                    registry=self.registry, repository=repository)
            chunks.append(chunk)
        return b''.join(chunks)

    def _location(self, response, what, repository):
        location = response.headers.get('Location')
        if not location:
            raise TransferError('registry %s answered %s without a Location header' % (self.registry, what),
                                registry=self.registry, repository=repository)
        # Location may be relative (distribution answers a path); keep its query (the upload state).
        return urljoin(response.url or self._base(), location)

    @staticmethod
    def _with_query(url, **params):
        parts = urlsplit(url)
        query = parts.query
        extra = urlencode(sorted(params.items()))
        query = (query + '&' + extra) if query else extra
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))

    def _cancel_upload(self, location, scopes, repository):
        try:
            response = self._request('DELETE', location, scopes=scopes, repository=repository, retry=False)
            response.close()
        except RegistryError:
            pass

    def upload_blob(self, repository, digest, size, open_stream, verify=True):
        """Upload a blob; returns the digest.

        ``open_stream()`` returns a fresh readable file-like object or iterator of byte chunks each time (it is
        called again on retries). ``verify`` hashes the bytes on the way; pass False only when the stream verifies
        its own digest and size (image_copy's sources do), which saves hashing every byte twice. The registry
        checks the digest of what it received before it stores the blob, either way.

        A monolithic upload, the push flow every registry must support (distribution spec, "POST then PUT"): POST
        opens a session, one PUT ``?digest=`` carries the body. A registry that refuses a PUT with a body (405, 501,
        and 400 or 415 that are no digest verdict: older Pulp) gets the spec's chunked flow instead, POST, PATCHes
        with Content-Range, a closing PUT, for the rest of this client's life.
        """
        attempt = 0
        while True:
            try:
                return self._upload_once(repository, digest, size, open_stream, verify)
            except (TransferError, RegistryUnreachableError) as exc:
                if isinstance(exc, TLSError) or attempt >= self.retries or (exc.status is not None and exc.status not in RETRY_STATUSES):
                    raise
                self._backoff(attempt)
                attempt += 1

    def _start_upload(self, repository, scopes, what):
        response = self._request('POST', '/v2/%s/blobs/uploads/' % repository, scopes=scopes, repository=repository,
                                 headers={'Content-Length': '0'})
        if response.status_code not in (202, 201):
            raise self._error(response, 'upload of %s' % what, repository)
        response.close()
        return self._location(response, 'the upload start of %s' % what, repository)

    def _upload_once(self, repository, digest, size, open_stream, verify):
        what = self._blob_what(repository, digest)
        kw = dict(registry=self.registry, repository=repository)
        scopes = [repository_scope(repository, 'pull,push')]
        location = self._start_upload(repository, scopes, what)
        bodies = []

        def body():
            if not size:
                # requests frames an empty iterable with Transfer-Encoding: chunked; an empty blob is plain b''.
                bodies.append(_UploadBody(open_stream(), size, digest, verify, what))
                for dummy in bodies[-1]:
                    pass
                return b''
            bodies.append(_UploadBody(open_stream(), size, digest, verify, what))
            return bodies[-1]

        octets = {'Content-Type': 'application/octet-stream'}
        try:
            if self._monolithic:
                response = self._request('PUT', self._with_query(location, digest=digest), scopes=scopes, repository=repository,
                                         headers=octets, data=body, retry=False)
                if response.status_code in _MONOLITHIC_REFUSED:
                    text = self._error_body(response)
                    codes = self._server_errors(text)[0]
                    if response.status_code == 400 and ('DIGEST_INVALID' in codes or 'SIZE_INVALID' in codes):
                        # The registry took the body and found it wrong: a verdict on the content, not on the method.
                        raise self._error(response, 'upload of %s' % what, repository, body=text)
                    # Chunked uploads from now on (a new session, a fresh stream).
                    self._cancel_upload(location, scopes, repository)
                    self._monolithic = False
                    location = self._start_upload(repository, scopes, what)
            if not self._monolithic:
                location = self._patch_chunks(location, body(), scopes, repository, what)
                response = self._request('PUT', self._with_query(location, digest=digest), scopes=scopes, repository=repository,
                                         headers={'Content-Length': '0'}, data=b'', retry=False)
            if response.status_code not in (201, 204):
                raise self._error(response, 'upload of %s' % what, repository)
        except _NETWORK_ERRORS as exc:
            self._cancel_upload(location, scopes, repository)
            raise TransferError('upload of %s to registry %s failed: %s' % (what, self.registry, _short(exc)), **kw)
        except BaseException:
            self._cancel_upload(location, scopes, repository)
            raise
        response.close()
        announced = response.headers.get('Docker-Content-Digest')
        if announced and is_digest(announced) and announced != digest:
            raise DigestMismatchError('registry %s stored %s as %s' % (self.registry, what, announced),
                                      expected=digest, actual=announced, **kw)
        return digest

    def _patch_chunks(self, location, stream, scopes, repository, what):
        """The chunks of the distribution spec's chunked upload: PATCHes of UPLOAD_CHUNK_SIZE bytes, in order, each
        with Content-Range and Content-Length, following the Location of each answer. Returns the last Location.

        ``stream`` checks its own size and digest when it ends, before the last chunk goes out."""
        pending = []
        pending_size = 0
        offset = 0
        for chunk in stream:
            pending.append(chunk)
            pending_size += len(chunk)
            while pending_size >= UPLOAD_CHUNK_SIZE:
                data = b''.join(pending)
                location = self._patch_chunk(location, data[:UPLOAD_CHUNK_SIZE], offset, scopes, repository, what)
                offset += UPLOAD_CHUNK_SIZE
                pending = [data[UPLOAD_CHUNK_SIZE:]]
                pending_size = len(pending[0])
        if pending_size:
            location = self._patch_chunk(location, b''.join(pending), offset, scopes, repository, what)
        return location

    def _patch_chunk(self, location, data, offset, scopes, repository, what):
        end = offset + len(data) - 1
        headers = {'Content-Type': 'application/octet-stream', 'Content-Range': '%d-%d' % (offset, end),
                   'Content-Length': str(len(data))}
        response = self._request('PATCH', location, scopes=scopes, repository=repository, headers=headers, data=data, retry=False)
        if response.status_code not in (202, 204):
            raise self._error(response, 'upload of %s' % what, repository)
        response.close()
        # The spec's answer says what the registry holds (Range: 0-<end>); a registry that lost bytes would store a
        # blob that fails its digest at the closing PUT, so say where it went wrong instead.
        match = re.match(r'^\s*(?:bytes=)?0-(\d+)\s*$', response.headers.get('Range') or '')
        if match and int(match.group(1)) != end:
            raise TransferError('registry %s holds bytes 0-%s of the upload of %s after a chunk that ends at byte %d'
                                % (self.registry, match.group(1), what, end), registry=self.registry, repository=repository)
        if response.headers.get('Location'):
            location = self._location(response, 'the upload of %s' % what, repository)
        return location

    def mount_blob(self, repository, digest, from_repository):
        """Cross-repository mount: True when mounted (201), False when the registry declined (202; upload cancelled)."""
        scopes = [repository_scope(repository, 'pull,push'), repository_scope(from_repository, 'pull')]
        path = '/v2/%s/blobs/uploads/?%s' % (repository, urlencode([('mount', digest), ('from', from_repository)]))
        response = self._request('POST', path, scopes=scopes, repository=repository, headers={'Content-Length': '0'})
        status = response.status_code
        if status == 201:
            response.close()
            return True
        if status == 202:
            response.close()
            if response.headers.get('Location'):
                self._cancel_upload(self._location(response, 'a mount', repository), scopes, repository)
            return False
        raise self._error(response, 'mount of blob %s from %s into %s' % (digest, from_repository, repository), repository)

    def check_push(self, repository):
        """Fail before any blob moves when ``repository`` cannot be pushed to: opens an upload session (which needs
        the push scope) and cancels it again. AuthenticationError (401), AuthorizationError (403), or the typed
        error of another answer; None when pushing is allowed."""
        scopes = [repository_scope(repository, 'pull,push')]
        response = self._request('POST', '/v2/%s/blobs/uploads/' % repository, scopes=scopes, repository=repository,
                                 headers={'Content-Length': '0'})
        if response.status_code not in (201, 202):
            raise self._error(response, 'uploads to repository %s' % repository, repository)
        response.close()
        if response.status_code == 202 and response.headers.get('Location'):
            self._cancel_upload(self._location(response, 'an upload start', repository), scopes, repository)

    # -- API: tags --------------------------------------------------------------------------------
    def list_tags(self, repository, page_size=None):
        """All tags of a repository, following ``Link: <...>; rel="next"`` pagination."""
        url = '/v2/%s/tags/list' % repository
        if page_size:
            url += '?n=%d' % int(page_size)
        scopes = [repository_scope(repository, 'pull')]
        tags = []
        seen = set()
        while url:
            response = self._request('GET', url, scopes=scopes, repository=repository)
            if response.status_code == 404:
                raise self._error(response, 'repository %s' % repository, repository, not_found='%s not found in registry %s')
            if response.status_code != 200:
                raise self._error(response, 'the tag list of %s' % repository, repository)
            what = 'the tag list of %s/%s' % (self.registry, repository)
            body = documents.load_json(response.content, what, documents.TAG_LIST, TransferError,
                                       registry=self.registry, repository=repository)
            # distribution answers "tags": null for a repository without tags
            documents.check(body, _TAG_LIST_SHAPE, what, TransferError, registry=self.registry, repository=repository)
            tags.extend(body.get('tags') or [])
            seen.add(response.url)
            match = _LINK_NEXT_RE.search(response.headers.get('Link') or '')
            url = urljoin(response.url, match.group(1)) if match else None
            if url in seen:
                break
        return tags
