"""A fault-injecting HTTP(S) reverse proxy for the integration tests, between the modules and a real registry.

    proxy = FaultProxy(registry)                 # http, or https with a cert from the tests' CA if the registry is https
    proxy.add('reset', method='GET', path=BLOB)  # the next blob GET: headers and half the body, then a TCP reset
    ... run a module against proxy.host instead of registry.host ...
    proxy.fired                                  # [(kind, method, path)] of the faults that fired
    proxy.stop()

The proxy forwards the client's Host header, so the registry writes upload Locations that point back at the proxy.
Fault kinds (``add(kind, method=None, path=None, times=1, **params)``; ``times=None`` fires for ever):

  reset_before  the request is read, then the connection is reset (nothing forwarded)
  reset         forwarded; the status line, headers and half the body are sent, then a TCP reset
  truncate      forwarded; headers (full Content-Length) and half the body, then a clean close
  lost          forwarded (the registry acts on it), then the connection is reset before any byte of the answer
  status        answered ``status`` (default 503) with a distribution error body, not forwarded
  retry_after   answered 429 Too Many Requests with ``Retry-After: seconds`` (default 1), not forwarded
  slow          the answer is held back ``delay`` seconds (default 1.0) before its first byte
  corrupt       forwarded; one byte of the answer's body is flipped (same length)
  corrupt_request  one byte of the request body is flipped before it is forwarded
  redirect      answered 307 to an OtherOrigin that serves the registry's answer (fetched by the proxy with the
                original request); ``proxy.other.received`` holds what that origin was sent

Paths are regular expressions searched in the request path (with query); BLOB, MANIFEST, UPLOAD, TAGS, PING
name the usual request classes. ``body=True`` matches only requests that carry a body (a monolithic upload's PUT,
not the empty PUT that closes a chunked one).
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import http.client
import itertools
import json
import re
import socket
import ssl
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

BLOB = r'/blobs/sha256:'
MANIFEST = r'/manifests/'
UPLOAD = r'/blobs/uploads/'
TAGS = r'/tags/list'
PING = r'^/v2/$'
KINDS = ('reset_before', 'reset', 'truncate', 'lost', 'status', 'retry_after', 'slow', 'corrupt', 'corrupt_request',
         'redirect')
_HOP_BY_HOP = ('connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'te', 'trailer', 'upgrade')


class Fault:
    """One planned fault: fires on the next ``times`` requests matching ``method`` and ``path`` (None: any)."""

    def __init__(self, kind, method=None, path=None, times=1, body=None, **params):
        if kind not in KINDS:
            raise ValueError('unknown fault kind %r (one of %s)' % (kind, ', '.join(KINDS)))
        self.kind = kind
        self.method = method
        self.path = path
        self.pattern = re.compile(path) if path else None
        self.times = times
        self.body = body
        self.params = params
        self.fired = 0

    def matches(self, method, path, body_size=0):
        if self.times is not None and self.fired >= self.times:
            return False
        if self.method and method != self.method:
            return False
        if self.body is not None and bool(body_size) != self.body:
            return False
        return self.pattern is None or bool(self.pattern.search(path))

    def __repr__(self):
        extra = ''.join(', %s=%r' % item for item in sorted(self.params.items()))
        return 'Fault(%s, %s %s, times=%s%s)' % (self.kind, self.method or '*', self.path or '*', self.times, extra)


def _server_context(issued):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(issued.cert_path, issued.key_path)
    return ctx


def _reset(sock):
    """Close with a TCP RST instead of a FIN (SO_LINGER 0), as a crashed peer or a middlebox does."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, handler, owner, tls_context):
        self.owner = owner
        self.tls_context = tls_context
        ThreadingHTTPServer.__init__(self, address, handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.tls_context is not None:
            # The handshake runs in the handler's thread (setup), so a slow client never blocks accept().
            sock = self.tls_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):  # noqa: D401 - quiet: resets are the point
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'podkit-fault-proxy'

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(30)
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError):
                self.close_connection = True
                raise
        BaseHTTPRequestHandler.setup(self)

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass

    def _body(self):
        if (self.headers.get('Transfer-Encoding') or '').lower() == 'chunked':
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b';', 1)[0].strip() or b'0', 16)
                if size == 0:
                    while self.rfile.readline() not in (b'\r\n', b'\n', b''):
                        pass
                    return b''.join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(length) if length else b''

    def _handle(self):
        owner = self.server.owner
        body = self._body()
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP and k.lower() != 'content-length']
        if body or self.command in ('PUT', 'POST', 'PATCH'):
            headers.append(('Content-Length', str(len(body))))
        fault = owner.take(self.command, self.path, len(body))
        kind = fault.kind if fault else None
        if kind == 'reset_before':
            return self._die()
        if kind == 'status':
            return self._answer(fault.params.get('status', 503), b'{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}',
                                [('Content-Type', 'application/json')])
        if kind == 'retry_after':
            return self._answer(429, b'{"errors":[{"code":"TOOMANYREQUESTS","message":"injected"}]}',
                                [('Content-Type', 'application/json'), ('Retry-After', str(fault.params.get('seconds', 1)))])
        if kind == 'corrupt_request' and body:
            body = _flip(body)
        if kind == 'redirect':
            status, resp_headers, resp_body = owner.forward(self.command, self.path, headers, body)
            location = owner.other.publish(self.command, status, resp_headers, resp_body)
            return self._answer(307, b'', [('Location', location)])
        status, resp_headers, resp_body = owner.forward(self.command, self.path, headers, body)
        if kind == 'lost':
            return self._die()
        if kind == 'slow':
            time.sleep(fault.params.get('delay', 1.0))
        if kind == 'corrupt' and resp_body:
            resp_body = _flip(resp_body)
        if kind in ('reset', 'truncate'):
            if self.command == 'HEAD' or len(resp_body) < 2:
                return self._die()
            self._answer(status, resp_body, resp_headers, cut=len(resp_body) // 2)
            if kind == 'reset':
                return self._die()
            self.close_connection = True
            return None
        return self._answer(status, resp_body, resp_headers)

    def _answer(self, status, body, headers, cut=None):
        lines = ['HTTP/1.1 %d %s' % (status, http.client.responses.get(status, 'Status'))]
        has_length = False
        for key, value in headers:
            if key.lower() in _HOP_BY_HOP:
                continue
            if key.lower() == 'content-length':
                has_length = True
                if self.command != 'HEAD':
                    continue
            lines.append('%s: %s' % (key, value))
        if self.command != 'HEAD' or not has_length:
            lines.append('Content-Length: %d' % len(body))
        data = ('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1')
        if self.command != 'HEAD':
            data += body[:cut] if cut is not None else body
        self.wfile.write(data)
        self.wfile.flush()
        return None

    def _die(self):
        self.close_connection = True
        _reset(self.request)

    def handle_one_request(self):
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            self._handle()
        except (OSError, ssl.SSLError, http.client.HTTPException, ValueError):
            self.close_connection = True


def _flip(data):
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1:]


class _OtherHandler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass

    def _serve(self):
        other = self.server.owner
        other.record(self.command, self.path, list(self.headers.items()))
        answer = other.stored(self.path)
        if answer is None:
            self.send_response(404)
            self.send_header('Content-Length', '0')
            self.end_headers()
            return
        status, headers, body = answer
        self.send_response(status)
        for key, value in headers:
            if key.lower() in _HOP_BY_HOP or key.lower() == 'content-length':
                continue
            self.send_header(key, value)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    do_GET = do_HEAD = _serve


class OtherOrigin:
    """Another origin (own port, so another host:port for the client) that redirects point at.

    ``received``: [(method, path, headers)] of every request it got; ``url``: its base URL. https when the
    proxy is (same CA), so a client that trusts the registry's CA only for the registry still reaches it."""

    def __init__(self, tls_context=None):
        self.received = []
        self._answers = {}
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._server = _Server(('127.0.0.1', 0), _OtherHandler, self, tls_context)
        self.port = self._server.server_address[1]
        self.url = '%s://127.0.0.1:%d' % ('https' if tls_context else 'http', self.port)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def publish(self, method, status, headers, body):
        with self._lock:
            key = '/storage/%d-%s' % (next(self._counter), method.lower())
            self._answers[key] = (status, headers, body)
        return self.url + key + '?expires=300'

    def stored(self, path):
        with self._lock:
            return self._answers.get(path.split('?', 1)[0])

    def record(self, method, path, headers):
        with self._lock:
            self.received.append((method, path, headers))

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


class FaultProxy:
    """A reverse proxy in front of ``registry`` (a registry_server.Registry, or anything with url/tls/ca).

    ``host`` (127.0.0.1:PORT) takes the registry's place in references; TLS with a leaf from the registry's CA
    when the registry is https. ``log``: [(method, path, status or fault kind)] of every request handled.
    """

    def __init__(self, registry, ca=None):
        self.upstream = urlsplit(registry.url)
        self.tls = self.upstream.scheme == 'https'
        ca = ca or getattr(registry, 'ca', None)
        self._upstream_ctx = None
        tls_context = None
        if self.tls:
            self._upstream_ctx = ssl.create_default_context(cafile=ca.cert_path)
            tls_context = _server_context(ca.issue('fault-proxy-%s' % self.upstream.port))
        self.faults = []
        self.fired = []
        self.log = []
        self._lock = threading.Lock()
        self._local = threading.local()
        self._server = _Server(('127.0.0.1', 0), _Handler, self, tls_context)
        self.port = self._server.server_address[1]
        self.host = '127.0.0.1:%d' % self.port
        self.url = '%s://%s' % ('https' if self.tls else 'http', self.host)
        self.other = OtherOrigin(tls_context)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    # -- faults ---------------------------------------------------------------------------------------------
    def add(self, kind, method=None, path=None, times=1, body=None, **params):
        fault = Fault(kind, method=method, path=path, times=times, body=body, **params)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self):
        """Drop the planned faults and forget what fired and what was logged."""
        with self._lock:
            self.faults = []
            self.fired = []
            self.log = []
        with self.other._lock:  # pylint: disable=protected-access
            self.other.received = []

    def take(self, method, path, body_size=0):
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path, body_size):
                    fault.fired += 1
                    self.fired.append((fault.kind, method, path))
                    self.log.append((method, path, fault.kind))
                    return fault
            self.log.append((method, path, None))
        return None

    # -- upstream -------------------------------------------------------------------------------------------
    def _connection(self):
        conn = getattr(self._local, 'conn', None)
        if conn is None:
            if self.tls:
                conn = http.client.HTTPSConnection(self.upstream.hostname, self.upstream.port, timeout=60,
                                                   context=self._upstream_ctx)
            else:
                conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
            self._local.conn = conn
        return conn

    def forward(self, method, path, headers, body):
        """Send the request to the registry (the client's Host header kept); returns (status, headers, body)."""
        # Repeated headers (containers/image sends one Accept line per media type) are joined, as RFC 9110 allows:
        # dict() would keep only the last, and the registry would answer another manifest format.
        combined = {}
        names = {}
        for key, value in headers:
            if key.lower() in names:
                combined[names[key.lower()]] += ', ' + value
            else:
                names[key.lower()] = key
                combined[key] = value
        for attempt in (0, 1):
            conn = self._connection()
            try:
                conn.request(method, path, body=body or None, headers=combined)
                resp = conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    conn.close()
                    self._local.conn = None
                return resp.status, resp.getheaders(), data
            except (OSError, http.client.HTTPException):
                conn.close()
                self._local.conn = None
                if attempt:
                    raise
        raise AssertionError('unreachable')

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self.other.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return 'FaultProxy(%s -> %s)' % (self.url, self.upstream.geturl())


def received_text(other):
    """Everything an OtherOrigin was sent (methods, paths, headers) as one JSON text, for secret_scan."""
    return json.dumps(other.received)
