"""An HTTP proxy for the integration tests, between a module and a real registry on 127.0.0.1.

``FaultProxy(upstream_port, drop_response=None, stall_after=None)`` forwards every request to the plain-http
upstream and relays its answer, except:
  drop_response(method, path) -> True: the request reaches the registry (which acts on it), then the client's
                 connection is reset instead of answered (a lost response);
  stall_after(method, path) -> N: the body of the answer stops after N bytes until ``stop()`` (a stalled source);
  alter_request(method, path, body) -> body: what the registry receives instead of the request body.
``requests`` records (method, path, status or 'dropped'/'stalled'). Use it as a context manager.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import http.client
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_HOP_BY_HOP = {'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailers',
               'transfer-encoding', 'upgrade'}


class FaultProxy(object):
    def __init__(self, upstream_port, drop_response=None, stall_after=None, alter_request=None):
        self.upstream_port = upstream_port
        self.alter_request = alter_request or (lambda method, path, body: body)
        self.drop_response = drop_response or (lambda method, path: False)
        self.stall_after = stall_after or (lambda method, path: None)
        self.requests = []
        self.released = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def _forward(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = proxy.alter_request(self.command, self.path, self.rfile.read(length) if length else None)
                upstream = http.client.HTTPConnection('127.0.0.1', proxy.upstream_port, timeout=60)
                # The client's Host header goes through: the registry builds its Location URLs from it, so upload
                # sessions come back through the proxy too.
                headers = dict((k, v) for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP)
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                upstream.close()
                if proxy.drop_response(self.command, self.path):
                    proxy.requests.append((self.command, self.path, 'dropped'))
                    # SO_LINGER 0: close sends a reset, as a broken middlebox or a crashed load balancer does.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response_only(response.status, response.reason)
                for key, value in response.getheaders():
                    if key.lower() not in _HOP_BY_HOP and key.lower() != 'content-length':
                        self.send_header(key, value)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                if self.command == 'HEAD':
                    proxy.requests.append((self.command, self.path, response.status))
                    return
                stall = proxy.stall_after(self.command, self.path)
                if stall is not None and stall < len(data):
                    proxy.requests.append((self.command, self.path, 'stalled'))
                    self.wfile.write(data[:stall])
                    self.wfile.flush()
                    proxy.released.wait(600)
                    self.close_connection = True
                    return
                proxy.requests.append((self.command, self.path, response.status))
                self.wfile.write(data)

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _forward

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.host = '127.0.0.1:%d' % self.port
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
