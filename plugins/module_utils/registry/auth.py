# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registry authentication (internal; no stable API).

WWW-Authenticate challenge parsing (RFC 7235), token scopes, Basic credentials and the
Bearer token flow of the distribution token spec (GET with Basic credentials, or the OAuth2
refresh-token POST when only an identity token is known). Tokens are cached per set of scopes.
Nothing here ever puts a password or token into an exception.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import calendar
import math
import re
import threading
import time

from ansible_collections.podkit.containers.plugins.module_utils import documents
from ansible_collections.podkit.containers.plugins.module_utils.errors import (
    AuthenticationError,
    CleartextRefusedError,
    CredentialsWithheldError,
    PodkitError,
)

try:
    from urllib.parse import urljoin, urlsplit, urlunsplit
except ImportError:  # pragma: no cover - Python 2 is not a target
    from urlparse import urljoin, urlsplit, urlunsplit  # type: ignore

# The token spec: "When omitted, this defaults to 60 seconds."
DEFAULT_TOKEN_LIFETIME = 60
# A token server's expires_in beyond this is a bug or hostile: it must neither overflow the clock arithmetic nor
# pin a token for years.
MAX_TOKEN_LIFETIME = 24 * 3600
# Refresh a cached token this long before it expires, so it does not expire in flight. A token living shorter than
# twice the margin is used for half of what is left of its life instead of being fetched again for every request.
TOKEN_EXPIRY_MARGIN = 10
MAX_TOKEN_REDIRECTS = 5
CLIENT_ID = 'podkit'
LOGIN_HINT = 'log in with podkit.containers.registry_login or pass username/password'
# registry_login itself was given the credentials: "log in with registry_login" would send the user in a circle.
LOGIN_REJECTED_HINT = 'check the username and password given to registry_login'
INSECURE_HINT = 'insecure: true or registries.conf'
# What may go into an Authorization header: visible ASCII and inner spaces. CR/LF would split the header (requests
# refuses it with a message quoting the token), other control or non-ASCII characters do not encode.
_HEADER_VALUE_RE = re.compile(r'^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?\Z')
_REDIRECTS = (301, 302, 303, 307, 308)

_TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_TOKEN68_RE = re.compile(r'[A-Za-z0-9\-._~+/]+=*')


class Challenge(object):
    """One authentication challenge: ``scheme`` (lowercased) and ``params`` (names lowercased).

    A repeated ``scope`` parameter is kept whole in ``scopes`` and joined with spaces in ``params['scope']``.
    """

    def __init__(self, scheme, params=None, scopes=None, token68=None):
        self.scheme = scheme.lower()
        self.params = dict(params or {})
        self.scopes = list(scopes or [])
        self.token68 = token68

    @property
    def realm(self):
        return self.params.get('realm')

    @property
    def service(self):
        return self.params.get('service')

    def __eq__(self, other):
        return isinstance(other, Challenge) and (self.scheme, self.params, self.scopes) == (other.scheme, other.params, other.scopes)

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((self.scheme, tuple(sorted(self.params.items()))))

    def __repr__(self):
        return 'Challenge(%r, %r)' % (self.scheme, self.params)


class _Scanner(object):
    def __init__(self, text):
        self.text = text
        self.pos = 0

    def eof(self):
        return self.pos >= len(self.text)

    def peek(self):
        return self.text[self.pos] if self.pos < len(self.text) else ''

    def skip_ws(self):
        while self.pos < len(self.text) and self.text[self.pos] in ' \t\r\n':
            self.pos += 1

    def skip_ws_commas(self):
        while self.pos < len(self.text) and self.text[self.pos] in ' \t\r\n,':
            self.pos += 1

    def token(self):
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in _TOKEN_CHARS:
            self.pos += 1
        return self.text[start:self.pos]

    def quoted(self):
        # RFC 7230 quoted-string: backslash escapes any character; an unterminated string runs to the end.
        self.pos += 1
        out = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == '\\' and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            self.pos += 1
            if char == '"':
                break
            out.append(char)
        return ''.join(out)

    def looks_like_param(self):
        """At a token: is it ``name=value`` (a parameter) rather than a new scheme or a token68?"""
        save = self.pos
        name = self.token()
        self.skip_ws()
        is_param = bool(name) and self.peek() == '='
        if is_param:
            self.pos += 1
            self.skip_ws()
            # "name=" then end/comma is a token68 ending in '=' (e.g. Basic dXNlcg==), not a parameter.
            nxt = self.peek()
            is_param = nxt != '' and nxt != ',' and nxt != '='
        self.pos = save
        return is_param


def parse_www_authenticate(header):
    """Parse a WWW-Authenticate header value into a list of :class:`Challenge`."""
    if not header:
        return []
    scan = _Scanner(header)
    challenges = []
    while True:
        scan.skip_ws_commas()
        if scan.eof():
            break
        scheme = scan.token()
        if not scheme:
            # Garbage: skip one character and carry on rather than loop forever.
            scan.pos += 1
            continue
        params = {}
        scopes = []
        token68 = None
        scan.skip_ws()
        if not scan.eof() and scan.peek() != ',' and not scan.looks_like_param():
            match = _TOKEN68_RE.match(scan.text, scan.pos)
            if match:
                token68 = match.group(0)
                scan.pos = match.end()
        while True:
            scan.skip_ws_commas()
            if scan.eof() or not scan.looks_like_param():
                break
            name = scan.token().lower()
            scan.skip_ws()
            scan.pos += 1  # '='
            scan.skip_ws()
            if scan.peek() == '"':
                value = scan.quoted()
            else:
                start = scan.pos
                while not scan.eof() and scan.peek() not in ', \t':
                    scan.pos += 1
                value = scan.text[start:scan.pos]
            if name == 'scope':
                scopes.append(value)
                params['scope'] = ' '.join(scopes)
            else:
                params[name] = value
        challenges.append(Challenge(scheme, params, scopes, token68))
    return challenges


def repository_scope(repository, actions=('pull',)):
    """``repository:<name>:<actions>`` for the token server; ``actions`` a string or a list."""
    if isinstance(actions, str):
        actions = [a for a in actions.split(',') if a]
    ordered = []
    for action in actions:
        if action not in ordered:
            ordered.append(action)
    return 'repository:%s:%s' % (repository, ','.join(ordered))


def split_scope(scope):
    """``(type, name, [actions])``; the name may itself contain colons (the actions follow the last one)."""
    head, sep, actions = scope.rpartition(':')
    if not sep:
        return scope, '', []
    kind, sep, name = head.partition(':')
    if not sep:
        return head, '', [a for a in actions.split(',') if a]
    return kind, name, [a for a in actions.split(',') if a]


def merge_scopes(scopes):
    """Merge scope strings so each resource appears once with the union of its actions.

    Returns a sorted tuple; accepts strings holding several space-separated scopes.
    """
    merged = {}
    order = []
    for item in scopes or ():
        for scope in (item or '').split():
            kind, name, actions = split_scope(scope)
            key = (kind, name)
            if key not in merged:
                merged[key] = []
                order.append(key)
            for action in actions:
                if action not in merged[key]:
                    merged[key].append(action)
    result = []
    for kind, name in order:
        actions = merged[(kind, name)]
        # containers/image and docker send pull before push; keep any other action after them.
        actions = sorted(actions, key=lambda a: ({'pull': 0, 'push': 1}.get(a, 2), a))
        if name:
            result.append('%s:%s:%s' % (kind, name, ','.join(actions)))
        else:
            result.append(kind)
    return tuple(sorted(result))


def basic_auth_value(username, password):
    raw = ('%s:%s' % (username or '', password or '')).encode('utf-8')
    return 'Basic ' + base64.b64encode(raw).decode('ascii')


def _parse_rfc3339(value):
    """Seconds since the epoch for an RFC 3339 time, or None."""
    if not isinstance(value, str):
        return None
    match = re.match(r'^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})?$', value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    try:
        stamp = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    if match.group(7):
        stamp += float(match.group(7))
    zone = match.group(8)
    if zone and zone not in ('Z', 'z'):
        sign = 1 if zone[0] == '+' else -1
        digits = zone[1:].replace(':', '')
        stamp -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return stamp


def _public_url(url):
    """The realm without query or fragment: enough to name it in a message."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition('@')[2]
        return urlunsplit((parts.scheme, netloc, parts.path, '', ''))
    except ValueError:
        return '<invalid realm>'


def _parses(url):
    """False for a URL that urlsplit refuses (``https://[::1``): the realm comes from the registry."""
    try:
        urlsplit(url)
    except ValueError:
        return False
    return True


def _origin(url):
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return (parts.scheme.lower(), (parts.hostname or '').lower(), port or {'https': 443, 'http': 80}.get(parts.scheme.lower()))


def _lifetime(value):
    """expires_in as seconds in (0, MAX_TOKEN_LIFETIME]; the spec's default for anything absent or unusable."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return DEFAULT_TOKEN_LIFETIME
    try:
        value = float(value)
    except OverflowError:  # an integer beyond any float
        return MAX_TOKEN_LIFETIME
    if math.isnan(value) or value <= 0:  # NaN, should a parser ever let it through
        return DEFAULT_TOKEN_LIFETIME
    return min(value, MAX_TOKEN_LIFETIME)


class Token(object):
    """A Bearer token. ``refresh_at``: when the cache stops handing it out (before ``expires_at``)."""

    __slots__ = ('value', 'expires_at', 'refresh_token', 'refresh_at')

    def __init__(self, value, expires_at, refresh_token=None, refresh_at=None):
        self.value = value
        self.expires_at = expires_at
        self.refresh_token = refresh_token
        self.refresh_at = expires_at - TOKEN_EXPIRY_MARGIN if refresh_at is None else refresh_at

    def __repr__(self):
        return 'Token(<hidden>, expires_at=%r)' % (self.expires_at,)


class Authenticator(object):
    """Decides the Authorization header for requests to one registry host.

    ``send(method, url, **kwargs)`` performs an HTTP request (the client's counted session) and raises the typed
    errors of the client for transport failures; ``credentials_for(repository)`` returns an object with
    ``username``/``password``/``identity_token`` or None. The challenge is learned from the registry's 401 (or a
    ping). ``cleartext_ok()`` says whether credentials may go to an ``http://`` realm: only for a registry that is
    itself marked insecure and plain http.

    Thread-safe: the challenge and the token cache change under one lock, and a token is fetched while holding
    it, so threads that need the same scopes at the same time cause one token request, not one each.
    """

    def __init__(self, registry, send, credentials_for=None, clock=None, timeout=30.0, cleartext_ok=None):
        self.registry = registry
        self._send = send
        self._credentials_for = credentials_for or (lambda repository: None)
        self._clock = clock or time.time
        self._cleartext_ok = cleartext_ok or (lambda: False)
        self.timeout = timeout
        self.challenge = None
        self._tokens = {}
        # Reentrant: token() calls credentials(), which may be called by the client under the lock too.
        self._lock = threading.RLock()

    # -- challenges --------------------------------------------------------------------------
    @property
    def scheme(self):
        return self.challenge.scheme if self.challenge else None

    def learn(self, header):
        """Remember the usable challenge of a WWW-Authenticate header; returns it (or None)."""
        challenges = parse_www_authenticate(header)
        chosen = None
        for wanted in ('bearer', 'basic'):
            for challenge in challenges:
                if challenge.scheme == wanted:
                    chosen = challenge
                    break
            if chosen:
                break
        if chosen is not None:
            with self._lock:
                if self.challenge is None or self.challenge.scheme != chosen.scheme or self.challenge.realm != chosen.realm:
                    self._tokens.clear()
                self.challenge = chosen
        return chosen

    def credentials(self, repository=None):
        creds = self._credentials_for(repository)
        if creds is None:
            return None
        if not (getattr(creds, 'username', None) or getattr(creds, 'password', None) or getattr(creds, 'identity_token', None)):
            return None
        return creds

    # -- headers -------------------------------------------------------------------------------
    def authorization(self, scopes=(), repository=None, force_refresh=False):
        """The Authorization header value for a request needing ``scopes``, or None (anonymous)."""
        if self.challenge is None:
            return None
        creds = self.credentials(repository)
        if self.challenge.scheme == 'basic':
            if creds is None or not getattr(creds, 'username', None):
                return None
            return basic_auth_value(creds.username, creds.password)
        if self.challenge.scheme == 'bearer':
            token = self.token(scopes, repository=repository, force_refresh=force_refresh)
            return 'Bearer ' + token.value
        return None

    def forget(self, scopes, rejected=None):
        """Drop the cached token for ``scopes``. With ``rejected`` (the Authorization value the registry refused),
        only if it is still that token: another thread may have fetched a good one meanwhile, or the refused
        request went out before any token existed (``rejected`` '')."""
        with self._lock:
            key = frozenset(merge_scopes(scopes))
            cached = self._tokens.get(key)
            if cached is not None and rejected is not None and rejected != 'Bearer ' + cached.value:
                return
            self._tokens.pop(key, None)

    def token(self, scopes=(), repository=None, force_refresh=False, credentials=None, challenge=None, hint=None):
        """A (cached) Bearer token for the set of ``scopes``. ``hint`` replaces LOGIN_HINT in a rejection."""
        challenge = challenge or self.challenge
        key = frozenset(merge_scopes(scopes))
        use_cache = credentials is None and challenge is self.challenge
        if not use_cache:
            creds = credentials if credentials is not None else self.credentials(repository)
            return self._fetch_token(challenge, sorted(key), creds, hint)
        with self._lock:
            if not force_refresh:
                cached = self._tokens.get(key)
                if cached is not None and cached.refresh_at > self._clock():
                    return cached
            token = self._fetch_token(challenge, sorted(key), self.credentials(repository), hint)
            self._tokens[key] = token
            return token

    def _fetch_token(self, challenge, scopes, creds, hint=None):
        realm = challenge.realm
        if not realm:
            raise AuthenticationError('the registry %s sent a Bearer challenge without a realm; it cannot be authenticated against'
                                      % self.registry, registry=self.registry)
        if not realm.startswith(('https://', 'http://')) or not _parses(realm):
            raise AuthenticationError('the registry %s sent a Bearer challenge with an unusable realm %s'
                                      % (self.registry, _public_url(realm)), registry=self.registry)
        service = challenge.service
        username = getattr(creds, 'username', None) if creds else None
        identity_token = getattr(creds, 'identity_token', None) if creds else None
        if identity_token:
            self._refuse_cleartext(realm, 'the identity token')
            data = {'grant_type': 'refresh_token', 'refresh_token': identity_token, 'client_id': CLIENT_ID}
            if service:
                data['service'] = service
            if scopes:
                data['scope'] = ' '.join(scopes)
            response, withheld = self._token_request('POST', realm, data=data)
        else:
            params = []
            if service:
                params.append(('service', service))
            for scope in scopes:
                params.append(('scope', scope))
            headers = {}
            if creds is not None and username:
                self._refuse_cleartext(realm, 'the credentials of user %s' % username)
                params.append(('account', username))
                headers['Authorization'] = basic_auth_value(username, getattr(creds, 'password', None))
            response, withheld = self._token_request('GET', realm, params=params, headers=headers)
        return self._read_token(response, realm, username, bool(creds), hint or LOGIN_HINT, withheld)

    def _refuse_cleartext(self, realm, what):
        # Same-origin redirects keep the scheme and cross-origin ones drop the credentials (_token_request): the
        # realm's own scheme is all there is to check.
        if realm.lower().startswith('http://') and not self._cleartext_ok():
            raise CleartextRefusedError(
                'the registry %s announces the token server %s, which is plain http: not sending %s there in cleartext; '
                'have the registry announce an https token realm, or, only for a plain-http registry, mark it insecure (%s)'
                % (self.registry, _public_url(realm), what, INSECURE_HINT), registry=self.registry)

    def _token_request(self, method, realm, params=None, data=None, headers=None):
        """(response, withheld): redirects followed here, so that the Basic header and the identity token go only to
        the realm's origin. ``withheld`` names the other origin the credentials were kept from, or None."""
        url = realm
        origin = _origin(realm)
        headers = dict(headers or {})
        withheld = None
        for dummy in range(MAX_TOKEN_REDIRECTS + 1):
            response = self._send(method, url, timeout=self.timeout, allow_redirects=False, params=params, data=data,
                                  headers=dict(headers))
            location = (getattr(response, 'headers', None) or {}).get('Location')
            if response.status_code not in _REDIRECTS or not location:
                return response, withheld
            close = getattr(response, 'close', None)
            if close:
                close()
            url = urljoin(url, location)
            params = None  # a Location carries its own query
            if not url.startswith(('https://', 'http://')):
                raise AuthenticationError('token server %s redirected to an unsupported URL scheme' % _public_url(realm),
                                          registry=self.registry)
            if response.status_code in (301, 302, 303) and method == 'POST':
                # What browsers and requests do: the redirect is fetched with GET, without the form.
                method, data = 'GET', None
            if _origin(url) != origin:
                if data and 'refresh_token' in data:
                    raise CredentialsWithheldError(
                        'token server %s redirected the identity-token request to %s, another origin: the identity token is '
                        'only sent to the realm the registry announces; have the registry announce %s as its realm'
                        % (_public_url(realm), _public_url(url), _public_url(url)), registry=self.registry)
                if 'Authorization' in headers:
                    withheld = _public_url(url)
                    del headers['Authorization']
        raise AuthenticationError('token server %s redirected more than %d times' % (_public_url(realm), MAX_TOKEN_REDIRECTS),
                                  registry=self.registry)

    def _read_token(self, response, realm, username, had_credentials, hint=LOGIN_HINT, withheld=None):
        where = _public_url(realm)
        status = response.status_code
        if status in (401, 403) and withheld:
            raise CredentialsWithheldError(
                'unauthorized: token server %s of registry %s redirected to %s, another origin, which asks for credentials; '
                'they were withheld from it, not rejected (credentials only go to the realm the registry announces)'
                % (where, self.registry, withheld), registry=self.registry, status=status)
        if status in (401, 403) or (status == 400 and had_credentials and _oauth_error(response) in ('invalid_grant', 'unauthorized_client')):
            if had_credentials:
                who = ('user %s' % username) if username else 'the stored identity token'
                msg = 'unauthorized: the registry %s rejected the credentials for %s; %s' % (self.registry, who, hint)
            else:
                msg = 'unauthorized: the registry %s requires authentication; %s' % (self.registry, LOGIN_HINT)
            raise AuthenticationError(msg, registry=self.registry, status=status)
        if status != 200:
            raise AuthenticationError('token server %s answered an invalid response: HTTP %d' % (where, status),
                                      registry=self.registry, status=status)
        try:
            body = documents.load_json(response.content, 'its body', documents.TOKEN, AuthenticationError,
                                       registry=self.registry)
        except AuthenticationError as err:
            raise AuthenticationError('token server %s answered an invalid response: %s' % (where, err.msg), **err.details)
        if not isinstance(body, dict):
            raise AuthenticationError('token server %s answered an invalid response: not a JSON object' % where, registry=self.registry)
        value = body.get('token') or body.get('access_token')
        if not isinstance(value, str) or not value:
            raise AuthenticationError('token server %s answered an invalid response: no token or access_token field' % where,
                                      registry=self.registry)
        if not _HEADER_VALUE_RE.match(value):
            # Never quoted: it is a credential, and quoting it is what requests' own error would do.
            raise AuthenticationError('token server %s answered an invalid response: the token has control, space-only or '
                                      'non-ASCII characters and cannot be sent in an HTTP header' % where, registry=self.registry)
        lifetime = _lifetime(body.get('expires_in'))
        now = self._clock()
        issued = _parse_rfc3339(body.get('issued_at'))
        # Trust issued_at only when it is plausible: a skewed server clock must not make every token look expired
        # (or live forever).
        if issued is None or issued > now + 60 or issued + lifetime < now:
            issued = now
        expires_at = issued + lifetime
        refresh_at = expires_at - min(TOKEN_EXPIRY_MARGIN, (expires_at - now) / 2.0)
        refresh = body.get('refresh_token') if isinstance(body.get('refresh_token'), str) else None
        return Token(value, expires_at, refresh, refresh_at)


def _oauth_error(response):
    try:
        body = documents.load_json(response.content, 'the token error', documents.ERROR_BODY)
    except PodkitError:
        return None
    return body.get('error') if isinstance(body, dict) else None
