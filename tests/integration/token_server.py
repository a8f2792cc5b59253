"""A small Docker registry token server (distribution "token authentication" spec + its OAuth2 variant).

GET  <realm>?service=S&scope=A&scope=B[&offline_token=true&client_id=C]   Basic credentials or anonymous
POST <realm>  grant_type=password|refresh_token (form), client_id required  (docker "oauth" token endpoint)

Grants: a role per user ('rw': pull/push/delete/* on every repository + registry:catalog:*, 'ro': pull on every
repository); anonymous gets pull on repositories under ``public/``. Requested actions outside the grant are
dropped (the spec says so: the token lists what was granted, the registry then answers 401/403).
Tokens are ES256 JWTs with an ``x5c`` chain (signing leaf, CA); the CA is the registry's ``rootcertbundle``.

``mode`` makes the server misbehave for one test: use ``with server.misbehave('garbage'):``.
``requests_seen`` records each request (no secrets: method, grant type, user, scopes asked/granted, status).
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import contextlib
import datetime
import json
import secrets
import ssl
import threading
import time
import uuid

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt

MODES = (
    'normal',
    'garbage',        # 200 with a body that is not JSON
    'error',          # 500
    'deny',           # 401 for everyone, even with good credentials
    'no_token',       # 200 JSON without token/access_token
    'empty_access',   # a valid token that grants nothing
    'expired',        # a token whose exp is in the past
    'slow',           # sleeps ``slow_seconds`` then answers normally
    'no_refresh',     # never hands out refresh tokens; POST refresh_token grant answers 400
)

ALL_ACTIONS = ('pull', 'push', 'delete', '*')


def parse_scope(scope):
    """'repository:a/b:pull,push' -> ('repository', 'a/b', ['pull', 'push']); None if malformed."""
    first = scope.find(':')
    last = scope.rfind(':')
    if first <= 0 or last == first:
        return None
    return scope[:first], scope[first + 1:last], [a for a in scope[last + 1:].split(',') if a]


class TokenServer:
    def __init__(self, signer, issuer, service, users, tls=None, expires_in=300):
        """``signer``: pki.Issued used to sign; ``users``: {name: (password, 'rw'|'ro')}; ``tls``: (cert, key) paths."""
        self.signer = signer
        self.issuer = issuer
        self.service = service
        self.users = dict(users)
        self.expires_in = expires_in
        self.mode = 'normal'
        self.slow_seconds = 5
        self.requests_seen = []
        self._refresh = {}
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(('127.0.0.1', 0), _handler_for(self))
        self._httpd.daemon_threads = True
        scheme = 'http'
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls[0], tls[1])
            self._httpd.socket = ctx.wrap_socket(self._httpd.socket, server_side=True)
            scheme = 'https'
        self.port = self._httpd.server_address[1]
        self.host = '127.0.0.1:%d' % self.port
        self.url = '%s://%s' % (scheme, self.host)
        self.realm = self.url + '/token'
        self._thread = threading.Thread(target=self._httpd.serve_forever, name='token-server', daemon=True)
        self._thread.start()

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()

    @contextlib.contextmanager
    def misbehave(self, mode):
        if mode not in MODES:
            raise ValueError('unknown token server mode %r (one of %s)' % (mode, ', '.join(MODES)))
        old = self.mode
        self.mode = mode
        try:
            yield self
        finally:
            self.mode = old

    def clear_log(self):
        with self._lock:
            del self.requests_seen[:]

    # --- grants and tokens -------------------------------------------------------------------------------------
    def allowed(self, account, rtype, name):
        role = self.users[account][1] if account else None
        if rtype == 'registry' and name == 'catalog':
            return ['*'] if role == 'rw' else []
        if rtype != 'repository':
            return []
        if role == 'rw':
            return list(ALL_ACTIONS)
        if role == 'ro' or name.startswith('public/'):
            return ['pull']
        return []

    def grant(self, account, scopes):
        access = []
        for scope in scopes:
            parsed = parse_scope(scope)
            if not parsed:
                continue
            rtype, name, wanted = parsed
            allowed = self.allowed(account, rtype, name)
            actions = [a for a in wanted if a in allowed]
            access.append({'type': rtype, 'name': name, 'actions': actions})
        return access

    def make_token(self, account, access):
        now = int(time.time())
        exp = now + self.expires_in
        if self.mode == 'expired':
            exp = now - 3600
        if self.mode == 'empty_access':
            access = []
        claims = {'iss': self.issuer, 'sub': account or '', 'aud': self.service, 'exp': exp, 'nbf': now - 5,
                  'iat': now, 'jti': uuid.uuid4().hex, 'access': access}
        headers = {'x5c': [base64.b64encode(der).decode('ascii') for der in self.signer.chain_der]}
        return jwt.encode(claims, self.signer.key, algorithm='ES256', headers=headers)

    def new_refresh_token(self, account):
        token = 'rt-' + secrets.token_urlsafe(24)
        with self._lock:
            self._refresh[token] = account
        return token

    def refresh_account(self, token):
        with self._lock:
            return self._refresh.get(token)

    def check_basic(self, header):
        """(ok, account): account None = anonymous. ok False = bad credentials."""
        if not header:
            return True, None
        if not header.lower().startswith('basic '):
            return False, None
        try:
            user, _sep, password = base64.b64decode(header[6:].strip()).decode('utf-8').partition(':')
        except (ValueError, UnicodeDecodeError):
            return False, None
        return self.check_password(user, password)

    def check_password(self, user, password):
        if user in self.users and secrets.compare_digest(self.users[user][0], password):
            return True, user
        return False, None

    def record(self, **entry):
        with self._lock:
            self.requests_seen.append(entry)


def _iso_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def _handler_for(server):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, format, *args):  # pylint: disable=redefined-builtin
            pass  # the default writes request lines (with query strings) to stderr

        def _send(self, status, body, content_type='application/json', headers=None):
            data = body if isinstance(body, bytes) else json.dumps(body).encode('utf-8')
            self.send_response(status)
            self.send_header('Content-Type', content_type)
            self.send_header('Content-Length', str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _misbehaved(self):
            mode = server.mode
            if mode == 'slow':
                time.sleep(server.slow_seconds)
            elif mode == 'garbage':
                self._send(200, b'<html>this is not a token</html>', 'application/json')
                return True
            elif mode == 'error':
                self._send(500, {'errors': [{'code': 'UNKNOWN', 'message': 'token server is broken (test mode)'}]})
                return True
            elif mode == 'deny':
                self._send(401, {'errors': [{'code': 'UNAUTHORIZED', 'message': 'denied (test mode)'}]},
                           headers={'WWW-Authenticate': 'Basic realm="podkit-token"'})
                return True
            elif mode == 'no_token':
                self._send(200, {'expires_in': server.expires_in, 'issued_at': _iso_now()})
                return True
            return False

        def _token_response(self, account, scopes, refresh=None):
            access = server.grant(account, scopes)
            token = server.make_token(account, access)
            body = {'token': token, 'access_token': token, 'expires_in': server.expires_in, 'issued_at': _iso_now()}
            if refresh:
                body['refresh_token'] = refresh
            if scopes:
                body['scope'] = ' '.join(scopes)
            return access, body

        def do_GET(self):  # pylint: disable=invalid-name
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if parts.path != '/token':
                self._send(404, {'errors': [{'code': 'NOT_FOUND', 'message': 'no such endpoint'}]})
                return
            scopes = [s for value in query.get('scope', []) for s in value.split(' ') if s]
            entry = {'method': 'GET', 'grant_type': None, 'scopes': scopes, 'service': query.get('service', [None])[0],
                     'offline_token': query.get('offline_token', ['false'])[0] == 'true',
                     'client_id': query.get('client_id', [None])[0], 'mode': server.mode,
                     'basic': bool(self.headers.get('Authorization'))}
            if self._misbehaved():
                entry['status'] = 'misbehaved'
                server.record(**entry)
                return
            ok, account = server.check_basic(self.headers.get('Authorization'))
            entry['account'] = account
            if not ok:
                entry['status'] = 401
                server.record(**entry)
                self._send(401, {'errors': [{'code': 'UNAUTHORIZED', 'message': 'authentication failed'}]},
                           headers={'WWW-Authenticate': 'Basic realm="podkit-token"'})
                return
            refresh = None
            if entry['offline_token'] and account and server.mode != 'no_refresh':
                refresh = server.new_refresh_token(account)
            access, body = self._token_response(account, scopes, refresh)
            entry.update(status=200, granted=access, refresh_issued=bool(refresh))
            server.record(**entry)
            self._send(200, body)

        def do_POST(self):  # pylint: disable=invalid-name
            if urlsplit(self.path).path != '/token':
                self._send(404, {'errors': [{'code': 'NOT_FOUND', 'message': 'no such endpoint'}]})
                return
            length = int(self.headers.get('Content-Length') or 0)
            form = parse_qs(self.rfile.read(length).decode('utf-8'))

            def field(name):
                return form.get(name, [None])[0]

            scopes = [s for value in form.get('scope', []) for s in value.split(' ') if s]
            entry = {'method': 'POST', 'grant_type': field('grant_type'), 'scopes': scopes, 'service': field('service'),
                     'client_id': field('client_id'), 'mode': server.mode, 'basic': bool(self.headers.get('Authorization'))}
            if self._misbehaved():
                entry['status'] = 'misbehaved'
                server.record(**entry)
                return
            if not field('client_id'):
                entry['status'] = 400
                server.record(**entry)
                self._send(400, {'error': 'invalid_request', 'error_description': 'client_id is required'})
                return
            grant_type = field('grant_type')
            refresh = None
            if grant_type == 'password':
                ok, account = server.check_password(field('username') or '', field('password') or '')
                if not ok:
                    entry['status'] = 401
                    server.record(**entry)
                    self._send(401, {'error': 'invalid_grant', 'error_description': 'bad credentials'})
                    return
                if field('access_type') == 'offline' and server.mode != 'no_refresh':
                    refresh = server.new_refresh_token(account)
            elif grant_type == 'refresh_token':
                account = server.refresh_account(field('refresh_token') or '')
                if account is None or server.mode == 'no_refresh':
                    entry['status'] = 400
                    server.record(**entry)
                    self._send(400, {'error': 'invalid_grant', 'error_description': 'unknown refresh token'})
                    return
                refresh = field('refresh_token')
            else:
                entry['status'] = 400
                server.record(**entry)
                self._send(400, {'error': 'unsupported_grant_type'})
                return
            access, body = self._token_response(account, scopes, refresh)
            entry.update(status=200, account=account, granted=access, refresh_issued=bool(refresh))
            server.record(**entry)
            self._send(200, body)

    return Handler
