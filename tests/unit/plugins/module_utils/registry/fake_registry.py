# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A tiny in-process fake of a distribution registry + token server, with fault injection.

It runs http.server on 127.0.0.1 (port 0) in a thread. Blob redirects go to ``localhost`` on the
same port, which is another origin for the client, so stripping of Authorization can be checked.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
import re
import socket
import ssl
import threading
import uuid

try:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlsplit
except ImportError:  # pragma: no cover
    raise

OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'


def sha256(data):
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def make_manifest(config=b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}', layers=(b'layer',),
                  media_type=OCI_MANIFEST):
    """(raw manifest bytes, {digest: blob}) for a small image."""
    layer_type = 'application/vnd.oci.image.layer.v1.tar+gzip' if media_type == OCI_MANIFEST else \
        'application/vnd.docker.image.rootfs.diff.tar.gzip'
    config_type = 'application/vnd.oci.image.config.v1+json' if media_type == OCI_MANIFEST else \
        'application/vnd.docker.container.image.v1+json'
    doc = {
        'schemaVersion': 2,
        'mediaType': media_type,
        'config': {'mediaType': config_type, 'digest': sha256(config), 'size': len(config)},
        'layers': [{'mediaType': layer_type, 'digest': sha256(layer), 'size': len(layer)} for layer in layers],
    }
    blobs = {sha256(config): config}
    for layer in layers:
        blobs[sha256(layer)] = layer
    return json.dumps(doc, indent=2).encode('utf-8'), blobs


class FakeRegistry(object):
    """State and faults of the fake. ``auth`` is None, 'basic' or 'bearer'."""

    def __init__(self, auth=None, users=None, anonymous_pull=False, tls_context=None):
        self.auth = auth
        self.users = users if users is not None else {'alice': 'secret'}
        self.anonymous_pull = anonymous_pull
        self.refresh_tokens = {'refresh-abc': 'alice'}
        self.manifests = {}   # (repo, ref) -> (content_type, raw)
        self.blobs = {}       # (repo, digest) -> bytes
        self.uploads = {}     # uuid -> bytearray
        self.tokens = {}      # token -> (user, set of (repo, action))
        self.token_requests = []
        self.requests = []    # (method, path, headers dict)
        self.storage_auth_headers = []
        self.faults = {}
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(('127.0.0.1', 0), _make_handler(self))
        self.server.daemon_threads = True
        if tls_context is not None:
            self.server.socket = tls_context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.host = '127.0.0.1:%d' % self.port
        self.scheme = 'https' if tls_context is not None else 'http'
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.05})
        self.thread.daemon = True

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    # -- content helpers ---------------------------------------------------------------------------
    def add_image(self, repo, tag, raw, blobs, content_type=None):
        content_type = content_type or json.loads(raw.decode('utf-8')).get('mediaType') or OCI_MANIFEST
        self.manifests[(repo, tag)] = (content_type, raw)
        self.manifests[(repo, sha256(raw))] = (content_type, raw)
        for digest, data in blobs.items():
            self.blobs[(repo, digest)] = data
        return sha256(raw)

    def count(self, method=None, path_prefix=''):
        return len([r for r in self.requests if (method is None or r[0] == method) and r[1].startswith(path_prefix)])

    def take_fault(self, name):
        """Consume one occurrence of a counted fault; returns its value or None."""
        with self.lock:
            value = self.faults.get(name)
            if value is None:
                return None
            if isinstance(value, dict) and 'times' in value:
                if value['times'] <= 0:
                    return None
                value['times'] -= 1
            return value

    @property
    def realm(self):
        # faults['realm']: announce another token server (an http:// one, for instance).
        return self.faults.get('realm') or '%s://%s/token' % (self.scheme, self.host)


def _make_handler(reg):

    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'
        _read_body = None

        def log_message(self, *args):  # keep pytest output quiet
            pass

        def handle(self):
            # Like Go's net/http: a TLS ClientHello on a plain-http port gets a 400 and a closed connection.
            if reg.scheme == 'http':
                try:
                    first = self.connection.recv(1, socket.MSG_PEEK)
                except OSError:
                    return
                if first == b'\x16':
                    try:
                        self.connection.sendall(b'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n')
                    except OSError:
                        pass
                    return
            try:
                BaseHTTPRequestHandler.handle(self)
            except (ConnectionError, ssl.SSLError, OSError):
                pass

        # -- plumbing ------------------------------------------------------------------------------
        def _body(self):
            if self._read_body is None:
                self._read_body = self._consume_body()
            return self._read_body

        def _consume_body(self):
            length = self.headers.get('Content-Length')
            if length:
                return self.rfile.read(int(length))
            if (self.headers.get('Transfer-Encoding') or '').lower() == 'chunked':
                out = b''
                while True:
                    size = int(self.rfile.readline().strip().split(b';')[0], 16)
                    if size == 0:
                        self.rfile.readline()
                        return out
                    out += self.rfile.read(size)
                    self.rfile.readline()
            return b''

        def _send(self, status, body=b'', headers=None, content_type='application/json'):
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode('utf-8')
            self.send_response(status)
            if content_type and body:
                self.send_header('Content-Type', content_type)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if 'Content-Length' not in (headers or {}):
                self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            if self.command != 'HEAD' and body:
                self.wfile.write(body)

        def _error(self, status, code, message, headers=None):
            self._send(status, {'errors': [{'code': code, 'message': message}]}, headers=headers)

        def _challenge(self, repo=None, actions='pull'):
            if reg.auth == 'basic':
                return 'Basic realm="fake registry"'
            scope = ',scope="repository:%s:%s"' % (repo, actions) if repo else ''
            return 'Bearer realm="%s",service="fake-registry"%s' % (reg.realm, scope)

        def _authorized(self, repo=None, action='pull'):
            """True or sends the 401 itself."""
            if reg.auth is None:
                return True
            header = self.headers.get('Authorization') or ''
            if reg.auth == 'basic':
                if header.startswith('Basic '):
                    user, dummy, password = base64.b64decode(header[6:]).decode('utf-8').partition(':')
                    if reg.users.get(user) == password:
                        return True
            elif header.startswith('Bearer '):
                token = reg.tokens.get(header[7:])
                if token is not None and (repo is None or (repo, action) in token[1]):
                    return True
                if token is not None:
                    self._error(401, 'UNAUTHORIZED', 'insufficient scope',
                                {'WWW-Authenticate': self._challenge(repo, 'pull,push' if action == 'push' else 'pull')
                                 + ',error="insufficient_scope"'})
                    return False
            self._error(401, 'UNAUTHORIZED', 'authentication required',
                        {'WWW-Authenticate': self._challenge(repo, 'pull,push' if action == 'push' else 'pull')})
            return False

        def _common(self):
            reg.requests.append((self.command, self.path, dict(self.headers.items())))
            fault = reg.take_fault('status')
            if fault is not None:
                headers = {}
                if fault.get('retry_after') is not None:
                    headers['Retry-After'] = str(fault['retry_after'])
                self._error(fault['code'], 'TOOMANYREQUESTS' if fault['code'] == 429 else 'UNAVAILABLE', 'try later', headers)
                return False
            return True

        # -- dispatch ------------------------------------------------------------------------------
        def do_GET(self):
            self._dispatch()

        def do_HEAD(self):
            self._dispatch()

        def do_PUT(self):
            self._dispatch()

        def do_POST(self):
            self._dispatch()

        def do_PATCH(self):
            self._dispatch()

        def do_DELETE(self):
            self._dispatch()

        def _dispatch(self):
            # Like Go's server, never leave an unread request body on a kept-alive connection (a 401 to a PUT would
            # otherwise leave the manifest to be parsed as the next request).
            self._read_body = None
            self._body()
            parts = urlsplit(self.path)
            path = parts.path
            query = parse_qs(parts.query)
            if path == '/token':
                reg.requests.append((self.command, self.path, dict(self.headers.items())))
                return self._token(query)
            if path.startswith('/storage/'):
                reg.requests.append((self.command, self.path, dict(self.headers.items())))
                reg.storage_auth_headers.append(self.headers.get('Authorization'))
                if reg.faults.get('storage_wants_auth'):
                    return self._error(401, 'UNAUTHORIZED', 'authentication required',
                                       {'WWW-Authenticate': 'Basic realm="storage"'})
                data = reg.blobs.get(('storage', path[len('/storage/'):]))
                return self._send(200, data or b'', content_type='application/octet-stream') if data is not None else \
                    self._send(404)
            if not self._common():
                return None
            if path == '/v2/' or path == '/v2':
                if not self._authorized():
                    return None
                return self._send(200, {}, headers={'Docker-Distribution-API-Version': 'registry/2.0'})
            match = re.match(r'^/v2/(?P<name>.+?)/blobs/uploads/(?P<id>[^/]*)$', path)
            if match:
                return self._uploads(match.group('name'), match.group('id'), query)
            match = re.match(r'^/v2/(?P<name>.+?)/blobs/(?P<digest>[^/]+)$', path)
            if match:
                return self._blob(match.group('name'), match.group('digest'))
            match = re.match(r'^/v2/(?P<name>.+?)/manifests/(?P<ref>[^/]+)$', path)
            if match:
                return self._manifest(match.group('name'), match.group('ref'))
            match = re.match(r'^/v2/(?P<name>.+?)/tags/list$', path)
            if match:
                return self._tags(match.group('name'), query)
            return self._error(404, 'NOT_FOUND', 'no route')

        # -- token server -------------------------------------------------------------------------
        def _token(self, query):
            garbage = reg.faults.get('token_garbage')
            body = self._body() if self.command == 'POST' else b''
            reg.token_requests.append({'method': self.command, 'query': query, 'form': parse_qs(body.decode('utf-8')),
                                       'authorization': self.headers.get('Authorization')})
            if garbage == '500':
                return self._send(500, b'<html>oops</html>', content_type='text/html')
            if garbage == 'notjson':
                return self._send(200, b'<html>login page</html>', content_type='text/html')
            if garbage == 'nofield':
                return self._send(200, {'nothing': 'here'})
            user = None
            if self.command == 'POST':
                form = parse_qs(body.decode('utf-8'))
                user = reg.refresh_tokens.get((form.get('refresh_token') or [''])[0])
                if form.get('grant_type') != ['refresh_token'] or user is None:
                    return self._send(400, {'error': 'invalid_grant'})
                scopes = ' '.join(form.get('scope') or []).split()
            else:
                header = self.headers.get('Authorization') or ''
                if header.startswith('Basic '):
                    name, dummy, password = base64.b64decode(header[6:]).decode('utf-8').partition(':')
                    if reg.users.get(name) != password:
                        return self._send(401, {'details': 'incorrect username or password'})
                    user = name
                elif not reg.anonymous_pull:
                    return self._send(401, {'details': 'authentication required'})
                scopes = query.get('scope') or []
            granted = set()
            for scope in scopes:
                rest = scope.partition(':')[2]
                name, dummy, actions = rest.rpartition(':')
                for action in actions.split(','):
                    if action == 'push' and user is None:
                        continue
                    granted.add((name, action))
            token = 'tok-%s' % uuid.uuid4().hex
            reg.tokens[token] = (user, granted)
            answer = {'access_token' if self.command == 'POST' else 'token': token}
            if 'token_expires_in' in reg.faults:
                answer['expires_in'] = reg.faults['token_expires_in']
            if 'token_issued_at' in reg.faults:
                answer['issued_at'] = reg.faults['token_issued_at']
            return self._send(200, answer)

        # -- manifests ----------------------------------------------------------------------------
        def _manifest(self, repo, ref):
            if self.command in ('GET', 'HEAD'):
                if not self._authorized(repo, 'pull'):
                    return None
                if reg.faults.get('endless_manifest'):
                    return self._endless()
                if self.command == 'HEAD' and reg.faults.get('head_404'):
                    # Older Harbor proxy caches: HEAD says 404 for a manifest GET serves.
                    return self._error(404, 'MANIFEST_UNKNOWN', 'manifest unknown')
                entry = reg.manifests.get((repo, ref))
                if entry is None:
                    if not any(key[0] == repo for key in list(reg.manifests) + list(reg.blobs)):
                        return self._error(404, 'NAME_UNKNOWN', 'repository name not known to registry')
                    return self._error(404, 'MANIFEST_UNKNOWN', 'manifest unknown')
                content_type, raw = entry
                # distribution 2.8 quirk: an OCI manifest is "unknown" unless its type is acceptable.
                accept = self.headers.get('Accept') or ''
                if content_type in (OCI_MANIFEST, OCI_INDEX) and content_type not in accept:
                    return self._error(404, 'MANIFEST_UNKNOWN', 'OCI manifest found, but accept header does not support OCI manifests')
                digest = reg.faults.get('manifest_digest_header') or sha256(raw)
                return self._send(200, raw, headers={'Docker-Content-Digest': digest}, content_type=content_type)
            if self.command == 'PUT':
                if not self._authorized(repo, 'push'):
                    return None
                raw = self._body()
                content_type = self.headers.get('Content-Type')
                reg.manifests[(repo, ref)] = (content_type, raw)
                reg.manifests[(repo, sha256(raw))] = (content_type, raw)
                digest = reg.faults.get('manifest_digest_header') or sha256(raw)
                return self._send(201, b'', headers={'Docker-Content-Digest': digest, 'Location': '/v2/%s/manifests/%s' % (repo, digest)})
            return self._error(405, 'UNSUPPORTED', 'method')

        def _endless(self):
            self.send_response(200)
            self.send_header('Content-Type', OCI_MANIFEST)
            self.send_header('Connection', 'close')
            self.end_headers()
            self.close_connection = True
            chunk = b' ' * 65536
            try:
                for dummy in range(1024):  # at most 64 MiB
                    self.wfile.write(chunk)
            except OSError:
                pass

        # -- blobs --------------------------------------------------------------------------------
        def _blob(self, repo, digest):
            if not self._authorized(repo, 'pull'):
                return None
            data = reg.blobs.get((repo, digest))
            if data is None:
                return self._error(404, 'BLOB_UNKNOWN', 'blob unknown to registry')
            if reg.faults.get('corrupt_blob'):
                data = b'X' + data[1:]
            if reg.faults.get('redirect_blobs'):
                reg.blobs[('storage', digest)] = data
                location = 'http://localhost:%d/storage/%s' % (reg.port, digest)
                return self._send(307, b'', headers={'Location': location})
            start = 0
            range_header = self.headers.get('Range')
            status = 200
            headers = {'Docker-Content-Digest': digest, 'Accept-Ranges': 'bytes'}
            if range_header and not reg.faults.get('ignore_range'):
                start = int(re.match(r'bytes=(\d+)-', range_header).group(1))
                status = 206
                headers['Content-Range'] = 'bytes %d-%d/%d' % (start, len(data) - 1, len(data))
            body = data[start:]
            drop = reg.take_fault('drop_blob')
            if drop is not None and self.command == 'GET':
                self.send_response(status)
                self.send_header('Content-Type', 'application/octet-stream')
                self.send_header('Content-Length', str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body[:drop['after']])
                self.wfile.flush()
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return None
            return self._send(status, body, headers=headers, content_type='application/octet-stream')

        def _uploads(self, repo, upload_id, query):
            if not self._authorized(repo, 'push'):
                return None
            if reg.faults.get('deny_push'):
                self._body()
                return self._error(403, 'DENIED', 'requested access to the resource is denied')
            absolute = reg.faults.get('absolute_location')
            prefix = 'http://%s' % reg.host if absolute else ''
            if self.command == 'POST' and not upload_id:
                self._body()
                if 'mount' in query:
                    digest = query['mount'][0]
                    source = query['from'][0]
                    if (source, digest) in reg.blobs and not reg.faults.get('refuse_mount'):
                        reg.blobs[(repo, digest)] = reg.blobs[(source, digest)]
                        return self._send(201, b'', headers={'Location': '/v2/%s/blobs/%s' % (repo, digest),
                                                             'Docker-Content-Digest': digest})
                new_id = uuid.uuid4().hex
                reg.uploads[new_id] = bytearray()
                return self._send(202, b'', headers={'Location': '%s/v2/%s/blobs/uploads/%s?_state=s%s' % (prefix, repo, new_id, new_id[:6]),
                                                     'Docker-Upload-UUID': new_id, 'Range': '0-0'})
            if upload_id not in reg.uploads:
                return self._error(404, 'BLOB_UPLOAD_UNKNOWN', 'upload unknown')
            if query.get('_state', [''])[0] != 's' + upload_id[:6]:
                return self._error(400, 'BLOB_UPLOAD_INVALID', 'state lost (query not kept)')
            if self.command == 'PATCH':
                if reg.faults.get('no_patch'):
                    self._body()
                    return self._error(405, 'UNSUPPORTED', 'PATCH not supported')
                content_range = self.headers.get('Content-Range')
                if content_range:
                    # The spec's chunked upload: chunks in order, each starting where the last one ended.
                    start, dummy, end = content_range.partition('-')
                    if int(start) != len(reg.uploads[upload_id]) or int(end) - int(start) + 1 != len(self._body()):
                        return self._error(416, 'BLOB_UPLOAD_INVALID', 'range not satisfiable')
                reg.uploads[upload_id].extend(self._body())
                return self._send(202, b'', headers={'Location': '%s/v2/%s/blobs/uploads/%s?_state=s%s' % (prefix, repo, upload_id, upload_id[:6]),
                                                     'Range': '0-%d' % (len(reg.uploads[upload_id]) - 1)})
            if self.command == 'PUT':
                refused = reg.faults.get('no_monolithic')
                if refused and self._body():
                    # True: 405 (distribution spec); a status code: what older Pulp and others answer (400, 415).
                    return self._error(405 if refused is True else refused, 'UNSUPPORTED', 'PUT with a body not supported')
                reg.uploads[upload_id].extend(self._body())
                digest = query.get('digest', [''])[0]
                data = bytes(reg.uploads.pop(upload_id))
                if sha256(data) != digest:
                    return self._error(400, 'DIGEST_INVALID', 'provided digest did not match uploaded content')
                reg.blobs[(repo, digest)] = data
                return self._send(201, b'', headers={'Docker-Content-Digest': digest, 'Location': '/v2/%s/blobs/%s' % (repo, digest)})
            if self.command == 'DELETE':
                reg.uploads.pop(upload_id, None)
                return self._send(204)
            return self._error(405, 'UNSUPPORTED', 'method')

        # -- tags ---------------------------------------------------------------------------------
        def _tags(self, repo, query):
            if not self._authorized(repo, 'pull'):
                return None
            if reg.faults.get('deny_tags'):
                # AWS ECR without ecr:ListImages: the image is served, its tag list is not.
                return self._error(403, 'DENIED', 'not authorized to perform ecr:ListImages')
            tags = sorted(ref for (name, ref) in reg.manifests if name == repo and not ref.startswith('sha256:'))
            if not tags:
                return self._error(404, 'NAME_UNKNOWN', 'repository name not known to registry')
            last = query.get('last', [''])[0]
            size = int(query.get('n', ['1000'])[0])
            remaining = [t for t in tags if t > last]
            page = remaining[:size]
            headers = {}
            if len(remaining) > size:
                headers['Link'] = '</v2/%s/tags/list?n=%d&last=%s>; rel="next"' % (repo, size, page[-1])
            return self._send(200, {'name': repo, 'tags': page}, headers=headers)

    return Handler
