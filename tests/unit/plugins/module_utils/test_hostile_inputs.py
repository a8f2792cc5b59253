# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hostile-input corpus: what a careless user, a broken tool or a hostile registry hands the parsers.

Every case ends in the typed error it names, with a one-line message that holds no secret, or -- when the input is
valid -- in a result that is checked. Any other exception (RecursionError, TypeError, InvalidURL...) fails the case.
Registry answers are served over real HTTP by a scripted server on 127.0.0.1, so requests and urllib3 take part.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import io
import json
import os
import tarfile
import threading

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.errors import (
    AuthenticationError,
    ConfigError,
    CredentialsError,
    DigestMismatchError,
    ImageStoreError,
    InvalidReferenceError,
    ManifestError,
    NotFoundError,
    PodkitError,
    RegistryError,
)
from ansible_collections.podkit.containers.plugins.module_utils.copy import transports
from ansible_collections.podkit.containers.plugins.module_utils.options import RegistryOptions
from ansible_collections.podkit.containers.plugins.module_utils.registry import manifest as mf
from ansible_collections.podkit.containers.plugins.module_utils.registry.client import RegistryClient
from ansible_collections.podkit.containers.plugins.module_utils.registry.credentials import lookup_credentials
from ansible_collections.podkit.containers.plugins.module_utils.registry.reference import (
    parse_image_location,
    parse_reference,
)
from ansible_collections.podkit.containers.plugins.module_utils.registry.registries_conf import load_registries_conf

try:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
except ImportError:  # pragma: no cover
    raise

pytest.importorskip('tomllib')

# Strings that stand for secrets in the cases below: none may reach a message or the details.
PASSWORD = 'hunter2-Pa55'
TOKEN = 's3cr3t-t0ken'
AUTH = base64.b64encode(('alice:' + PASSWORD).encode('ascii')).decode('ascii')
SECRETS = (PASSWORD, TOKEN, AUTH)
OK = 'ok'
NONE = 'none'  # a valid document that holds nothing for the question asked
BOMB = '[' * 400000  # the ~400 KB body of the issue
DEEP_OBJECT = '{"a":' * 30000


def sha(data):
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def outcome(call):
    """The value of ``call()``, or the PodkitError it raised after checking its message; anything else propagates."""
    try:
        return call()
    except PodkitError as err:
        assert isinstance(err.msg, str) and err.msg.strip(), repr(err)
        assert '\n' not in err.msg and '\r' not in err.msg, err.msg
        details = repr(err.details)
        for secret in SECRETS:
            assert secret not in err.msg and secret not in details, err.msg
        return err


def expect(result, expected, fragment=None):
    if expected == OK:
        assert not isinstance(result, PodkitError), result.msg
        return result
    assert isinstance(result, expected), 'expected %s, got %r' % (expected.__name__, result)
    if fragment:
        assert fragment in result.msg, result.msg
    return result


# -- references -------------------------------------------------------------------------------------------------

SHA256 = 'sha256:' + 'a' * 64

REFERENCE_CASES = [
    ('busybox', OK), ('busybox:1.36', OK), ('docker.io/library/busybox', OK), ('index.docker.io/a/b:c', OK),
    ('localhost/a', OK), ('localhost:5000/a/b/c:d', OK), ('[::1]:5000/a', OK), ('r.example/a@' + SHA256, OK),
    ('r.example/a:1@' + SHA256, OK), ('a' * 30 + '.example/b', OK), ('r.example:65535/a', OK), ('r.example:1/a', OK),
    ('h' * 63 + '.example/a', OK), ('a/b__c/d-e/f.g', OK), ('a:' + 'x' * 128, OK), ('docker://busybox', OK),
    ('r.example/a@sha512:' + 'b' * 128, OK),
    ('', None), ('   ', None), ('docker://', None), ('Busybox', None), ('busybox/App', None), ('R.example/a', OK),
    ('a:' + 'x' * 129, 'is longer than 128 characters'), ('a:.x', None), ('a:-x', None), ('a:', 'tag is empty'),
    ('a@', None), ('a@sha256:', None), ('a@sha256:' + 'a' * 63, None), ('a@sha256:' + 'a' * 65, None),
    ('a@sha256:' + 'A' * 64, 'must be lowercase'), ('a@sha1:' + 'a' * 40, 'unsupported algorithm'), ('a@:abc', None),
    ('a@sha256:' + 'a' * 64 + '@sha256:' + 'a' * 64, "more than one '@'"), ('a@@b', None),
    ('r.example:0/a', 'a port is 1-65535'), ('r.example:65536/a', 'a port is 1-65535'),
    ('r.example:99999999999999999999/a', 'a port is 1-65535'), ('r.example:' + '9' * 5000 + '/a', 'a port is 1-65535'),
    ('[::1]:65536/a', 'a port is 1-65535'), ('h' * 64 + '.example/a', 'longer than 63 characters'),
    ('.'.join(['h' * 63] * 4) + '.x/a', 'longer than 253 characters'), ('h' * 300 + '.example/a', None),
    ('r..example/a', None), ('-r.example/a', None), ('r.example:/a', None), ('r.example:port/a', None),
    ('a//b', 'empty path component'), ('a/', None), ('/a', None), ('a/b/', None), ('a' * 100000, 'longer than 255'),
    ('/' * 1000, None), (':' * 1000, None), ('@' * 1000, None), ('a' * 64, None), ('a/' * 200 + 'b', 'longer than 255'),
    ('bus box', 'whitespace'), ('bus\tbox', 'whitespace'), ('bus\nbox', 'whitespace'), ('bus\rbox:1', 'whitespace'),
    ('bus\x00box', None), ('bus\x7fbox', None), ('b\u00fcsybox', None), ('busybox:t\u00e4g', None),
    ('\uff42usybox', None), ('busybox:1\u200b', None), ('\ud800', None),
    ('a_/b', None), ('a__b___c', None), ('a-/b', None), ('_a', None), ('a.', None), ('a..b', None),
] + [('busybox:a%sb' % c, None) for c in ' !"#$%&\'()*+,;<=>?[\\]^`{|}~']


@pytest.mark.parametrize('text, expected', REFERENCE_CASES, ids=lambda v: repr(v)[:40] if isinstance(v, str) else None)
def test_reference(text, expected):
    result = outcome(lambda: parse_reference(text))
    if expected == OK:
        assert str(expect(result, OK)).startswith(result.registry + '/')
    else:
        expect(result, InvalidReferenceError, expected)


LOCATION_CASES = [
    ('oci:/tmp/x', OK), ('oci:/tmp/x:name', OK), ('oci-archive:/tmp/x.tar:n', OK), ('docker-archive:/x.tar', OK),
    ('docker-archive:/x.tar:a/b:1', OK), ('docker-archive:/x.tar:@0', OK), ('dir:/tmp/x', OK),
    ('docker://r.example/a:1', OK), ('oci:', 'needs a path'), ('oci:/p:', 'is empty'), ('dir:', 'needs a path'),
    ('docker-archive:/x.tar:@-1', 'non-negative'), ('docker-archive:/x.tar:@x', 'non-negative'),
    ('docker-archive:/x.tar:a@' + SHA256, None), ('docker-archive:/x.tar:A:1', 'lowercase'),
    ('containers-storage:x', 'not supported'), ('docker-daemon:x:1', 'not supported'), ('foo:/bar', 'unknown transport'),
    ('ftp://x/y', 'unknown transport'), ('a:' + 'x' * 129, 'is longer than 128 characters'),
    ('docker://a:' + 'x' * 129, 'is longer than 128 characters'), ('docker://r.example:70000/a', 'a port is 1-65535'),
    ('oci-archive:', 'needs a path'), ('docker-archive:', 'needs a path'), ('docker-archive:/x.tar:' + 'a' * 300 + ':1', None),
]


@pytest.mark.parametrize('text, expected', LOCATION_CASES, ids=lambda v: repr(v)[:40] if isinstance(v, str) else None)
def test_image_location(text, expected):
    result = outcome(lambda: parse_image_location(text))
    if expected == OK:
        assert expect(result, OK).transport in ('docker', 'oci', 'oci-archive', 'docker-archive', 'dir')
    else:
        expect(result, InvalidReferenceError, expected)


# -- manifests, indexes, configs ----------------------------------------------------------------------------------

CONFIG = json.dumps({'architecture': 'amd64', 'os': 'linux', 'rootfs': {'type': 'layers', 'diff_ids': [SHA256]},
                     'config': {'Env': ['A=1'], 'Labels': {'a': 'b'}}, 'history': [{'created_by': 'x'}]}).encode()
LAYER = {'mediaType': mf.OCI_LAYER_GZIP, 'digest': SHA256, 'size': 5}
OCI = {'schemaVersion': 2, 'mediaType': mf.OCI_MANIFEST,
       'config': {'mediaType': mf.OCI_CONFIG, 'digest': sha(CONFIG), 'size': len(CONFIG)}, 'layers': [LAYER]}
INDEX = {'schemaVersion': 2, 'mediaType': mf.OCI_INDEX,
         'manifests': [{'mediaType': mf.OCI_MANIFEST, 'digest': SHA256, 'size': 500,
                        'platform': {'os': 'linux', 'architecture': 'amd64'}}]}
SCHEMA1 = {'schemaVersion': 1, 'name': 'a/b', 'tag': '1', 'architecture': 'amd64',
           'fsLayers': [{'blobSum': SHA256}], 'history': [{'v1Compatibility': '{"id": "x", "os": "linux"}'}]}


def mutated(doc, path, value):
    """A copy of ``doc`` with the member at ``path`` (a list of keys/indexes) set to ``value``."""
    doc = json.loads(json.dumps(doc))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(doc).encode()


NOT_A_STRING = [5, [], {}, None, True]
NOT_AN_INTEGER = ['5', [], {}, None, 1.5, True]
NOT_AN_OBJECT = [5, 'x', [], None]
NOT_A_LIST = [5, 'x', {}, None]
MANIFEST_FIELDS = [
    (OCI, ['schemaVersion'], ['2', 3, None, [], 2.5]),
    (OCI, ['mediaType'], [5, [], {}, True]),
    (OCI, ['config'], NOT_AN_OBJECT),
    (OCI, ['config', 'digest'], NOT_A_STRING + ['', 'sha256', ':abc']),
    (OCI, ['config', 'size'], NOT_AN_INTEGER + [-1]),
    (OCI, ['config', 'mediaType'], NOT_A_STRING),
    (OCI, ['layers'], NOT_A_LIST),
    (OCI, ['layers', 0], NOT_AN_OBJECT),
    (OCI, ['layers', 0, 'digest'], NOT_A_STRING),
    (OCI, ['layers', 0, 'size'], NOT_AN_INTEGER),
    (OCI, ['layers', 0, 'urls'], ['x', 5, {}, [5]]),
    (OCI, ['layers', 0, 'annotations'], ['x', 5, [], {'a': 5}, {'a': [BOMB[:10]]}]),
    (OCI, ['annotations'], ['x', 5, [], {'a': None}]),
    (INDEX, ['manifests'], NOT_A_LIST + [['x'], [5], [None]]),
    (INDEX, ['manifests', 0, 'digest'], NOT_A_STRING),
    (INDEX, ['manifests', 0, 'platform'], ['x', 5, []]),
    (INDEX, ['manifests', 0, 'platform', 'os'], [5, [], None]),
    (SCHEMA1, ['fsLayers'], ['x', 5, [5]]),
    (SCHEMA1, ['history'], ['x', 5, [5], [{'v1Compatibility': 5}]]),
]
MANIFEST_CASES = [pytest.param(mutated(doc, path, value), None, ManifestError, None,
                               id='%s=%s' % ('.'.join(str(p) for p in path), json.dumps(value)[:20]))
                  for doc, path, values in MANIFEST_FIELDS for value in values] + [
    pytest.param(json.dumps(OCI).encode(), None, OK, None, id='oci'),
    pytest.param(json.dumps(INDEX).encode(), None, OK, None, id='index'),
    pytest.param(json.dumps(SCHEMA1).encode(), None, OK, None, id='schema1'),
    pytest.param(mutated(SCHEMA1, ['history', 0, 'v1Compatibility'], BOMB[:5000]), None, OK, None, id='schema1-v1compat-bomb'),
    pytest.param(mutated(SCHEMA1, ['history', 0, 'v1Compatibility'], '[1]'), None, OK, None, id='schema1-v1compat-list'),
    pytest.param(mutated(SCHEMA1, ['signatures'], [{'protected': base64.b64encode(BOMB[:5000].encode()).decode()}]), None, OK,
                 None, id='schema1-protected-bomb'),
    pytest.param(BOMB.encode(), None, ManifestError, 'nested deeper than 64 levels', id='bomb'),
    pytest.param(DEEP_OBJECT.encode(), None, ManifestError, 'nested deeper than 64 levels', id='deep-object'),
    pytest.param(mutated(OCI, ['annotations'], {'a': '[' * 100}), None, OK, None, id='brackets-in-a-string'),
    pytest.param(json.dumps(OCI).encode()[:-1] + b',"x":' + b'[' * 100 + b']' * 100 + b'}', None, ManifestError,
                 'nested deeper', id='deep-extra-member'),
    pytest.param(b' ' * (4 * 1024 * 1024 + 1), None, ManifestError, 'larger than 4 MiB', id='huge'),
    pytest.param(b'\xff\xfe' + json.dumps(OCI).encode(), None, ManifestError, 'not UTF-8', id='utf16-bom'),
    pytest.param(b'\xef\xbb\xbf' + json.dumps(OCI).encode(), None, ManifestError, 'not valid JSON', id='utf8-bom'),
    pytest.param(b'', None, ManifestError, 'it is empty', id='empty'),
    pytest.param(b'null', None, ManifestError, 'not a JSON object', id='null'),
    pytest.param(b'"manifest"', None, ManifestError, 'not a JSON object', id='string'),
    pytest.param(b'[]', None, ManifestError, 'not a JSON object', id='list'),
    pytest.param(b'{"schemaVersion": NaN}', None, ManifestError, 'NaN is not a JSON value', id='nan'),
    pytest.param(b'{"schemaVersion": 2, "x": -Infinity}', None, ManifestError, 'Infinity', id='infinity'),
    pytest.param(mutated(OCI, ['config', 'size'], 1).replace(b'"size": 1', b'"size": ' + b'9' * 5000), None, ManifestError,
                 None, id='5000-digit-size'),
    pytest.param(mutated(OCI, ['config', 'size'], 1).replace(b'"size": 1', b'"size": 1e400'), None, ManifestError, None,
                 id='infinite-size'),
    pytest.param(b'{"schemaVersion": 2}', None, ManifestError, 'unsupported media type', id='no-kind'),
    pytest.param(json.dumps(OCI).encode(), mf.DOCKER_MANIFEST, ManifestError, 'is served as', id='type-mismatch'),
    pytest.param(json.dumps(OCI).encode(), 'application/x-evil\r\nX: y', ManifestError, None, id='crlf-content-type'),
    pytest.param(json.dumps(OCI).encode(), 'text/plain; charset=utf-8', OK, None, id='generic-content-type'),
    pytest.param(json.dumps(OCI).encode(), 'text/html', ManifestError, 'is served as text/html', id='html-content-type'),
    pytest.param(mutated(OCI, ['mediaType'], mf.OCI_MANIFEST + '\r\nX: y'), None, ManifestError, None, id='crlf-media-type'),
    pytest.param(b'{"a": "\\ud800"}', None, ManifestError, None, id='lone-surrogate'),
    pytest.param(b'{"a": 1, "a": 2}', None, ManifestError, None, id='duplicate-keys'),
    pytest.param(b'{' + b'"k":1,' * 200000 + b'"z":1}', None, ManifestError, None, id='many-members'),
]


@pytest.mark.parametrize('raw, content_type, expected, fragment', MANIFEST_CASES)
def test_manifest(raw, content_type, expected, fragment):
    result = expect(outcome(lambda: mf.parse_manifest(raw, content_type, what='the manifest of r.example/a:1')),
                    expected, fragment)
    if expected == OK:
        # What the engines read of a parsed manifest must not raise either.
        assert isinstance(result.layers, list) and isinstance(result.manifests, list)
        assert result.config is None or isinstance(result.config, dict)
        assert all(isinstance(h, dict) for h in result.schema1_history)
        assert result.platform is None or isinstance(result.platform, dict)
    else:
        assert result.msg.startswith('the manifest of r.example/a:1 ')


def test_manifest_digest_is_verified():
    raw = json.dumps(OCI).encode()
    expect(outcome(lambda: mf.parse_manifest(raw, expected_digest=SHA256)), DigestMismatchError, 'has digest')


CONFIG_FIELDS = [
    (['architecture'], NOT_A_STRING), (['os'], NOT_A_STRING), (['rootfs'], NOT_AN_OBJECT),
    (['rootfs', 'diff_ids'], NOT_A_LIST + [[5]]), (['config'], ['x', 5, []]), (['config', 'Env'], ['x', 5, [5]]),
    (['config', 'Labels'], ['x', [], {'a': 5}]), (['history'], ['x', 5, [5]]), (['created'], [5, []]),
]
CONFIG_CASES = [pytest.param(mutated(json.loads(CONFIG), path, value), ManifestError, None,
                             id='%s=%s' % ('.'.join(str(p) for p in path), json.dumps(value)[:20]))
                for path, values in CONFIG_FIELDS for value in values] + [
    pytest.param(CONFIG, OK, None, id='valid'),
    pytest.param(BOMB.encode(), ManifestError, 'nested deeper than 64 levels', id='bomb'),
    pytest.param(b'{"history": ' + b'[' * 70 + b']' * 70 + b'}', ManifestError, 'nested deeper', id='deep-history'),
    pytest.param(b'x' * (8 * 1024 * 1024 + 1), ManifestError, 'larger than 8 MiB', id='huge'),
    pytest.param(b'{', ManifestError, 'not valid JSON at line 1', id='truncated'),
    pytest.param(b'[]', ManifestError, None, id='list'),
]


@pytest.mark.parametrize('raw, expected, fragment', CONFIG_CASES)
def test_config(raw, expected, fragment):
    result = expect(outcome(lambda: mf.parse_config(raw, what='the config of r.example/a:1')), expected, fragment)
    if expected == OK:
        assert result['architecture'] == 'amd64'


# -- a scripted registry over real HTTP ---------------------------------------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def _answer(self):
        path = self.path.split('?', 1)[0]
        self.server.seen.append((self.command, path, self.headers.get('Authorization')))
        status, headers, body = self.server.routes.get(path, (404, {}, b''))
        if callable(body):
            status, headers, body = body(self)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = _answer


@pytest.fixture(scope='module')
def server():
    httpd = ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    httpd.routes, httpd.seen = {}, []
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.host = '127.0.0.1:%d' % httpd.server_address[1]
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def registry(server):
    server.routes.clear()
    del server.seen[:]
    server.routes['/v2/'] = (200, {}, b'{}')

    def client(creds=None):
        return RegistryClient(server.host, RegistryOptions(insecure=True, timeout=5.0),
                              credentials=lambda registry, repository: creds, sleep=lambda seconds: None)
    server.client = client
    return server


class Creds(object):
    def __init__(self, username='alice', password=PASSWORD):
        self.username, self.password, self.identity_token = username, password, None


STATUSES = [400, 401, 403, 404, 405, 409, 429, 500, 502, 503]
ERROR_BODIES = [BOMB.encode(), DEEP_OBJECT.encode(), b'<html>oops</html>', b'{"errors": "x"}', b'{"errors": [5, null]}',
                b'{"errors": [{"code": ' + b'[' * 100 + b'}]}', b'\xff' * 100, b'x' * (1024 * 1024)]
ERROR_CASES = [pytest.param(status, body, id='%d-%d' % (status, i)) for status in STATUSES for i, body in enumerate(ERROR_BODIES)
               if status in (500, 404, 401) or i in (0, 3)]


@pytest.mark.parametrize('status, body', ERROR_CASES)
def test_error_bodies_of_any_status(registry, status, body):
    registry.routes['/v2/a/manifests/1'] = (status, {'Content-Type': 'application/json'}, body)
    expect(outcome(lambda: registry.client().get_manifest('a', '1')), RegistryError)


MANIFEST_BODIES = [
    (BOMB.encode(), 'nested deeper than 64 levels'), (DEEP_OBJECT.encode(), 'nested deeper than 64 levels'),
    (b'[]', 'not a JSON object'), (b'{', 'not valid JSON'), (b'\xff\xfe\x00', 'not UTF-8'),
    (json.dumps({'schemaVersion': 2, 'mediaType': mf.OCI_MANIFEST, 'config': 5, 'layers': []}).encode(), 'schema'),
    (json.dumps({'schemaVersion': 2, 'mediaType': mf.OCI_INDEX, 'manifests': 'x'}).encode(), 'schema'),
]


@pytest.mark.parametrize('body, fragment', MANIFEST_BODIES, ids=lambda v: repr(v)[:30] if isinstance(v, bytes) else v)
def test_served_manifests(registry, body, fragment):
    registry.routes['/v2/a/manifests/1'] = (200, {'Content-Type': 'application/json'}, body)
    expect(outcome(lambda: registry.client().get_manifest('a', '1')), ManifestError, fragment)


def test_served_manifest_that_is_valid(registry):
    raw = json.dumps(OCI).encode()
    registry.routes['/v2/a/manifests/1'] = (200, {'Content-Type': mf.OCI_MANIFEST, 'Docker-Content-Digest': sha(raw)}, raw)
    assert expect(outcome(lambda: registry.client().get_manifest('a', '1')), OK).digest == sha(raw)


TAG_LISTS = [
    (b'{"name": "a", "tags": ["1", "2"]}', ['1', '2']), (b'{"name": "a", "tags": null}', []), (b'{"name": "a"}', []),
    (b'{"tags": "1"}', '$.tags must be'), (b'{"tags": [1]}', '$.tags[0] must be a string'), (b'[]', 'must be an object'),
    (BOMB.encode(), 'nested deeper than 64 levels'), (b'{"tags": [', 'not valid JSON'), (b'', 'it is empty'),
    (b'{"tags": ["' + b'x' * 100 + b'"]}', ['x' * 100]),
]


@pytest.mark.parametrize('body, expected', TAG_LISTS, ids=lambda v: repr(v)[:30] if isinstance(v, bytes) else None)
def test_tag_lists(registry, body, expected):
    registry.routes['/v2/a/tags/list'] = (200, {'Content-Type': 'application/json'}, body)
    result = outcome(lambda: registry.client().list_tags('a'))
    if isinstance(expected, list):
        assert result == expected
    else:
        expect(result, RegistryError, expected)
        assert result.msg.startswith('the tag list of %s/a ' % registry.host)


CHALLENGES = [
    'Basic realm="r"', 'Bearer realm="{realm}",service="s"', 'bearer REALM="{realm}"', 'Bearer realm={realm}',
    'Bearer realm="{realm}",scope="repository:a:pull",scope="repository:b:pull"', 'Negotiate, Bearer realm="{realm}"',
    'Bearer', 'Bearer realm=""', 'Bearer service="s"', 'Bearer realm="ftp://x/t"', 'Bearer realm="/token"',
    'Bearer realm="file:///etc/passwd"', 'Bearer realm="https://[::1"', 'Bearer realm="https://a:99999/t"',
    'Bearer realm="https://%s.example/t"' % ('a' * 300), 'Bearer realm="http://127.0.0.1:1/t"', 'Bearer realm="{realm}',
    'Bearer realm="\\"{realm}\\""', 'Bearer ,,,,,,,,', 'Bearer ' + 'x=y,' * 20000, 'Bearer realm="' + 'x' * 100000 + '"',
    '=' * 1000, '"' * 1000, 'Bearer realm="{realm}", Basic realm="b"', 'Digest realm="d", nonce="n"', 'Basic',
    'Bearer realm="{realm}\\x00"', 'Bearer realm="{realm}",service="' + BOMB[:1000] + '"', '\u00e9\u00e9 realm="x"',
    'Bearer dG9rZW4=', 'Bearer realm="{realm}" error="invalid_token"',
]


@pytest.mark.parametrize('header', CHALLENGES, ids=lambda v: v[:40])
def test_www_authenticate(registry, header):
    realm = 'http://%s/token' % registry.host
    registry.routes['/v2/a/manifests/1'] = (401, {'WWW-Authenticate': header.replace('{realm}', realm)}, b'')
    registry.routes['/token'] = (200, {}, json.dumps({'token': TOKEN}).encode())
    # The registry refuses every token, so each case must end in a typed error, after at most a few requests.
    expect(outcome(lambda: registry.client(Creds()).get_manifest('a', '1')), RegistryError)
    assert len(registry.seen) < 20


TOKEN_BODIES = [
    (BOMB.encode(), 'nested deeper than 64 levels'), (DEEP_OBJECT.encode(), 'nested deeper'), (b'x' * (1024 * 1024 + 1), 'larger than 1 MiB'),
    (b'<html>', 'not valid JSON'), (b'[]', 'not a JSON object'), (b'"tok"', 'not a JSON object'), (b'null', 'not a JSON object'),
    (b'{"token": 5}', 'no token'), (b'{"token": []}', 'no token'), (b'{"token": ""}', 'no token'),
    (b'{"token": {"a": 1}}', 'no token'), (b'{"access_token": null}', 'no token'), (b'{"expires_in": 60}', 'no token'),
    (b'{"token": "t", "expires_in": NaN}', 'NaN is not a JSON value'), (b'{"token": "t", "expires_in": Infinity}', 'Infinity'),
    (b'\xff\xfe{}', 'not UTF-8'), (('{"token": "%s", ' % TOKEN).encode(), 'not valid JSON'),
]


@pytest.mark.parametrize('body, fragment', TOKEN_BODIES, ids=lambda v: repr(v)[:30] if isinstance(v, bytes) else v)
def test_token_answers(registry, body, fragment):
    realm = 'http://%s/token' % registry.host
    registry.routes['/v2/a/manifests/1'] = (401, {'WWW-Authenticate': 'Bearer realm="%s",service="s"' % realm}, b'')
    registry.routes['/token'] = (200, {'Content-Type': 'application/json'}, body)
    result = expect(outcome(lambda: registry.client(Creds()).get_manifest('a', '1')), AuthenticationError, fragment)
    assert result.msg.startswith('token server %s answered an invalid response: ' % realm)


GOOD_TOKEN_BODIES = [
    {'token': TOKEN}, {'access_token': TOKEN}, {'token': TOKEN, 'expires_in': -1}, {'token': TOKEN, 'expires_in': 'x'},
    {'token': TOKEN, 'expires_in': 1e308}, {'token': TOKEN, 'issued_at': 'garbage'}, {'token': TOKEN, 'issued_at': 5},
    {'token': TOKEN, 'issued_at': '9999-12-31T23:59:59Z'}, {'token': TOKEN, 'refresh_token': 5},
]


@pytest.mark.parametrize('body', GOOD_TOKEN_BODIES, ids=lambda v: json.dumps(v)[:40])
def test_token_answers_with_odd_but_usable_fields(registry, body):
    realm = 'http://%s/token' % registry.host
    raw = json.dumps(OCI).encode()

    def manifest(handler):
        if handler.headers.get('Authorization') == 'Bearer ' + TOKEN:
            return 200, {'Content-Type': mf.OCI_MANIFEST, 'Docker-Content-Digest': sha(raw)}, raw
        return 401, {'WWW-Authenticate': 'Bearer realm="%s",service="s"' % realm}, b''
    registry.routes['/v2/a/manifests/1'] = (0, {}, manifest)
    registry.routes['/token'] = (200, {'Content-Type': 'application/json'}, json.dumps(body).encode())
    assert expect(outcome(lambda: registry.client(Creds()).get_manifest('a', '1')), OK).digest == sha(raw)


# -- auth.json ----------------------------------------------------------------------------------------------------

AUTH_FILES = [
    ('{"auths": {"r.example": {"auth": "%s"}}}' % AUTH, OK), ('{}', NONE), ('', NONE), ('   \n', NONE),
    ('{"auths": {}}', NONE), ('{"auths": {"r.example": {}}}', NONE), ('{"auths": {"other.example": {"auth": "%s"}}}' % AUTH, NONE),
    ('{"auths": {"https://r.example/v1/": {"auth": "%s"}}}' % AUTH, OK),
    (BOMB, 'nested deeper than 64 levels'), ('{"auths": ' * 100000, 'nested deeper than 64 levels'),
    ('{"auths": {"r.example": {"auth": "%s"}}}' % AUTH + ' ' * (1024 * 1024), 'larger than 1 MiB'),
    ('{"auths": {"r.example": {"auth": "%s"}' % AUTH, 'not valid JSON at line 1'), ('[]', 'must be an object'),
    ('"%s"' % AUTH, 'must be an object'), ('null', 'must be an object'), ('{"auths": []}', '$.auths must be an object'),
    ('{"auths": "%s"}' % AUTH, '$.auths must be an object'), ('{"credHelpers": []}', '$.credHelpers must be'),
    ('{"credHelpers": {"r.example": 5}}', 'must be a string'), ('{"credsStore": 5}', '$.credsStore must be a string'),
    ('{"auths": {"r.example": "%s"}}' % AUTH, 'is not a JSON object'), ('{"auths": {"r.example": []}}', 'is not a JSON object'),
    ('{"auths": {"r.example": {"auth": 5}}}', 'is not a string'), ('{"auths": {"r.example": {"auth": "!!!"}}}', 'base64'),
    ('{"auths": {"r.example": {"auth": "%s"}}}' % base64.b64encode(PASSWORD.encode()).decode(), 'base64'),
    ('{"auths": {"r.example": {"auth": "%s"}}}' % base64.b64encode(b'\xff\xfe:x').decode(), 'base64'),
    ('{"auths": {"r.example": {"auth": "%s", "x": %s}}}' % (AUTH, '[' * 70 + ']' * 70), 'nested deeper'),
    ('{"auths": {"r.example": {"auth": NaN}}}', 'NaN'), ('\xef\xbb\xbf{}', 'not valid JSON'),
    ('{"auths": {"r.example": {"identitytoken": 5}}}', 'identitytoken'), ('{"auths": {"r.example": {"auth": "%s"}}}' % AUTH + 'x', 'not valid JSON'),
]


@pytest.mark.parametrize('content, expected', AUTH_FILES, ids=lambda v: repr(v)[:40] if isinstance(v, str) else None)
def test_auth_file(tmp_path, content, expected):
    path = str(tmp_path / 'auth.json')
    with open(path, 'w') as handle:
        handle.write(content)
    result = outcome(lambda: lookup_credentials('r.example', auth_file=path, env={}, run_command=lambda argv, data: (1, b'', b'')))
    if expected == OK:
        assert (result.username, result.password) == ('alice', PASSWORD)
    elif expected == NONE:
        assert result is None
    else:
        expect(result, CredentialsError, expected)
        assert path in result.msg


# -- registries.conf ----------------------------------------------------------------------------------------------

REGISTRIES_CONFS = [
    ('unqualified-search-registries = ["r.example"]\n', OK), ('', OK), ('# nothing\n', OK),
    ('[[registry]]\nlocation = "r.example"\ninsecure = true\n', OK),
    ('[[registry]]\nprefix = "a.example"\nlocation = "r.example"\n[[registry.mirror]]\nlocation = "m.example"\n', OK),
    ('[aliases]\n"a" = "r.example/a"\n', OK), ('[[registry]]\nlocation = "r.example"\nblocked = true\n', OK),
    ('a = ' + BOMB, 'nested deeper than 64 levels'), ('a = ' + '{b = ' * 100000, 'nested deeper than 64 levels'),
    ('[[registry]]\nlocation = "r.example"\nx = ' + '[' * 70 + ']' * 70 + '\n', 'nested deeper'),
    ('unqualified-search-registries = ["a.example"\n[[registry]\n', 'not valid TOML at line 2'),
    ('a = \nb = 1', 'not valid TOML at line 1'), ('a = "x', 'not valid TOML'), ('a = 1\na = 2\n', 'not valid TOML'),
    ('[[registry]\n', 'not valid TOML at line 1'), ('\x00', 'not valid TOML'), ('a = 1' + ' ' * (1024 * 1024), 'larger than 1 MiB'),
    ('unqualified-search-registries = 5\n', 'must be an array of strings'), ('unqualified-search-registries = [5]\n', 'array of strings'),
    ('unqualified-search-registries = ["a/b"]\n', 'must be a host'), ('short-name-mode = 5\n', 'must be a string'),
    ('short-name-mode = "loud"\n', 'must be one of'), ('aliases = 5\n', 'must be a table'), ('[aliases]\n"a" = 5\n', 'must be a string'),
    ('[aliases]\n"a" = "Bad/Name"\n', 'alias'), ('[aliases]\n"r.example/a" = "r.example/a"\n', 'short name'),
    ('registry = 5\n', 'array of tables'), ('registry = [5]\n', 'must be a table'), ('[[registry]]\nlocation = 5\n', 'must be a string'),
    ('[[registry]]\ninsecure = true\n', 'neither prefix nor location'), ('[[registry]]\nlocation = "r.example"\ninsecure = "yes"\n', 'true or false'),
    ('[[registry]]\nlocation = "r.example"\nmirror = "m"\n', 'array of tables'), ('[[registry]]\nlocation = "r.example"\nmirror = [5]\n', 'must be a table'),
    ('[[registry]]\nlocation = "https://r.example"\n', 'scheme'), ('[[registry]]\nprefix = "a.*.example"\n', 'wildcard'),
    ('[[registry]]\nlocation = "r.example"\n[[registry]]\nlocation = "r.example"\n', 'more than once'),
    ('unqualified-search-registries = ["b.example"]\n[registries.search]\nregistries = ["a.example"]\n', 'mixes'),
    ('[registries.search]\nregistries = 5\n', 'array of strings'), ('registries = 5\n', 'must be a table'),
    ('[[registry]]\nlocation = "r.example"\n[[registry.mirror]]\nlocation = "m.example"\npull-from-mirror = "some"\n', 'must be one of'),
]


@pytest.mark.parametrize('text, expected', REGISTRIES_CONFS, ids=lambda v: repr(v)[:40] if isinstance(v, str) else None)
def test_registries_conf(tmp_path, text, expected):
    path = str(tmp_path / 'registries.conf')
    with open(path, 'w') as handle:
        handle.write(text)
    result = expect(outcome(lambda: load_registries_conf(path)), OK if expected == OK else ConfigError,
                    None if expected == OK else expected)
    if expected == OK:
        # What the modules then ask of it answers or refuses with a typed error.
        for question in (lambda: result.pull_sources('r.example/a:1'), lambda: result.is_insecure('r.example'),
                         lambda: result.resolve_short_name('a')):
            answer = outcome(question)
            assert not isinstance(answer, PodkitError) or isinstance(answer, ConfigError)
    else:
        assert result.msg.startswith(path) or path in result.msg


# -- OCI layouts and archives -------------------------------------------------------------------------------------

def _blob(root, data):
    digest = sha(data)
    path = os.path.join(root, 'blobs', 'sha256', digest.partition(':')[2])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as handle:
        handle.write(data)
    return digest


def _layout(root, index_text, blobs=()):
    os.makedirs(os.path.join(root, 'blobs', 'sha256'), exist_ok=True)
    for data in blobs:
        _blob(root, data)
    with open(os.path.join(root, 'oci-layout'), 'w') as handle:
        handle.write('{"imageLayoutVersion":"1.0.0"}')
    if index_text is not None:
        with open(os.path.join(root, 'index.json'), 'wb') as handle:
            handle.write(index_text if isinstance(index_text, bytes) else index_text.encode('utf-8'))


MANIFEST_RAW = json.dumps(OCI).encode()
ENTRY = {'mediaType': mf.OCI_MANIFEST, 'digest': sha(MANIFEST_RAW), 'size': len(MANIFEST_RAW),
         'annotations': {transports.REF_NAME: 'v1'}}


def _index(*entries):
    return json.dumps({'schemaVersion': 2, 'manifests': list(entries)})


LAYOUT_CASES = [
    (_index(ENTRY), 'v1', OK), (_index(ENTRY), None, OK), (_index(ENTRY), 'v2', NotFoundError),
    (_index(ENTRY, dict(ENTRY, annotations={transports.REF_NAME: 'v2'})), None, NotFoundError),
    (_index(), None, NotFoundError), ('{"schemaVersion": 2}', None, NotFoundError), (None, None, ImageStoreError),
    (BOMB, None, ImageStoreError), (DEEP_OBJECT, None, ImageStoreError), ('', None, ImageStoreError),
    ('{', None, ImageStoreError), (b'\xff', None, ImageStoreError), ('[]', None, ImageStoreError), ('"x"', None, ImageStoreError),
    ('{"manifests": "x"}', None, ImageStoreError), ('{"manifests": ["x"]}', None, ImageStoreError),
    ('{"manifests": ["a", "b"]}', None, ImageStoreError), ('{"manifests": {}}', None, ImageStoreError),
    ('{"manifests": [5]}', None, ImageStoreError), ('{"manifests": [null]}', 'v1', ImageStoreError),
    (_index(dict(ENTRY, annotations=[])), 'v1', ImageStoreError), (_index(dict(ENTRY, annotations='x')), 'v1', ImageStoreError),
    (_index(dict(ENTRY, annotations={transports.REF_NAME: 5})), 'v1', ImageStoreError),
    (_index(dict(ENTRY, digest=5)), None, ImageStoreError), (_index(dict(ENTRY, digest='sha256:../../etc')), None, ImageStoreError),
    (_index(dict(ENTRY, digest=SHA256)), None, NotFoundError), (_index(dict(ENTRY, size='x')), None, ImageStoreError),
    (_index(dict(ENTRY, mediaType=5)), None, ImageStoreError), (_index(dict(ENTRY, platform='x')), None, ImageStoreError),
    (_index(ENTRY) + ' ' * (4 * 1024 * 1024), None, ImageStoreError),
]


@pytest.mark.parametrize('index_text, name, expected', LAYOUT_CASES, ids=lambda v: repr(v)[:40] if isinstance(v, (str, bytes)) else None)
def test_oci_layout(tmp_path, index_text, name, expected):
    root = str(tmp_path / 'layout')
    _layout(root, index_text, [MANIFEST_RAW])
    location = parse_image_location('oci:%s%s' % (root, ':' + name if name else ''))
    result = expect(outcome(lambda: transports.OCILayoutSource(location).top_manifest()), expected)
    if expected == OK:
        assert result.digest == sha(MANIFEST_RAW)
    elif expected is ImageStoreError:
        assert 'index.json' in result.msg or 'digest' in result.msg
    # Writing into the same layout reads its index.json too: a broken one is a typed error, never a traceback.
    current = outcome(transports.OCILayoutDestination(parse_image_location('oci:%s:new' % root)).current_digest)
    assert current is None or isinstance(current, ImageStoreError)


def _tar(path, members):
    with tarfile.open(path, 'w') as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_oci_archive_with_a_second_index_json(tmp_path):
    path = str(tmp_path / 'x.tar')
    blob = 'blobs/sha256/' + sha(MANIFEST_RAW).partition(':')[2]
    _tar(path, [('oci-layout', b'{"imageLayoutVersion":"1.0.0"}'), ('index.json', _index(ENTRY).encode()),
                (blob, MANIFEST_RAW), ('index.json', _index(dict(ENTRY, digest=SHA256)).encode())])
    result = outcome(lambda: transports.OCILayoutSource(parse_image_location('oci-archive:' + path), archive=True))
    expect(result, ImageStoreError, 'holds index.json twice')


LAYER_TAR = b'layer-bytes'
CONFIG_NAME = sha(CONFIG).partition(':')[2] + '.json'


def _archive_item(**changes):
    item = {'Config': CONFIG_NAME, 'RepoTags': ['myorg/app:1', 'busybox:latest'], 'Layers': ['l.tar']}
    item.update(changes)
    return item


ARCHIVE_CASES = [
    (json.dumps([_archive_item()]), 'myorg/app:1', OK), (json.dumps([_archive_item()]), 'docker.io/myorg/app:1', OK),
    (json.dumps([_archive_item()]), 'busybox:latest', OK), (json.dumps([_archive_item()]), 'docker.io/library/busybox:latest', OK),
    (json.dumps([_archive_item()]), 'library/busybox:latest', OK), (json.dumps([_archive_item()]), None, OK),
    (json.dumps([_archive_item()]), '@0', OK), (json.dumps([_archive_item(RepoTags=None)]), None, OK),
    (json.dumps([_archive_item(RepoTags=['docker.io/myorg/app:1'])]), 'myorg/app:1', OK),
    (json.dumps([_archive_item(RepoTags=['Bad Tag', 'myorg/app:1'])]), 'myorg/app:1', OK),
    (json.dumps([_archive_item()]), 'myorg/app:2', NotFoundError), (json.dumps([_archive_item()]), 'quay.io/myorg/app:1', NotFoundError),
    (json.dumps([_archive_item()]), '@1', NotFoundError), (json.dumps([_archive_item(), _archive_item()]), None, NotFoundError),
    (json.dumps([]), None, NotFoundError), (BOMB, None, ImageStoreError), (DEEP_OBJECT, None, ImageStoreError),
    ('', None, ImageStoreError), ('{', None, ImageStoreError), ('{}', None, ImageStoreError), ('"x"', None, ImageStoreError),
    ('[5]', None, ImageStoreError), ('["x"]', None, ImageStoreError), (json.dumps([_archive_item(Config=5)]), None, ImageStoreError),
    (json.dumps([_archive_item(Config=None)]), None, ImageStoreError), (json.dumps([_archive_item(Layers='l.tar')]), None, ImageStoreError),
    (json.dumps([_archive_item(Layers=[5])]), None, ImageStoreError), (json.dumps([_archive_item(RepoTags='a:1')]), None, ImageStoreError),
    (json.dumps([_archive_item(RepoTags=[5])]), None, ImageStoreError), (json.dumps([{'RepoTags': ['a:1']}]), None, ImageStoreError),
    (json.dumps([_archive_item(Config='missing.json')]), None, NotFoundError),
    (json.dumps([_archive_item(Layers=['../../etc/passwd'])]), None, NotFoundError),
    (json.dumps([_archive_item(Layers=['missing.tar'])]), None, NotFoundError),
    (json.dumps([_archive_item()]) + ' ' * (4 * 1024 * 1024), None, ImageStoreError),
]


@pytest.mark.parametrize('manifest_json, name, expected', ARCHIVE_CASES, ids=lambda v: repr(v)[:40] if isinstance(v, str) else None)
def test_docker_archive(tmp_path, manifest_json, name, expected):
    path = str(tmp_path / 'x.tar')
    _tar(path, [(CONFIG_NAME, CONFIG), ('l.tar', LAYER_TAR), ('manifest.json', manifest_json.encode('utf-8'))])
    location = parse_image_location('docker-archive:%s%s' % (path, ':' + name if name else ''))
    result = expect(outcome(lambda: transports.DockerArchiveSource(location)), expected)
    if expected == OK:
        manifest = result.top_manifest()
        assert manifest.config['digest'] == sha(CONFIG) and manifest.layers[0]['digest'] == sha(LAYER_TAR)


def test_docker_archive_with_a_second_manifest_json(tmp_path):
    path = str(tmp_path / 'x.tar')
    _tar(path, [(CONFIG_NAME, CONFIG), ('l.tar', LAYER_TAR), ('manifest.json', json.dumps([_archive_item()]).encode()),
                ('manifest.json', json.dumps([_archive_item(Config='other.json')]).encode())])
    result = outcome(lambda: transports.DockerArchiveSource(parse_image_location('docker-archive:' + path)))
    expect(result, ImageStoreError, 'holds manifest.json twice')


DIR_CASES = [
    (MANIFEST_RAW, OK), (BOMB.encode(), ImageStoreError), (DEEP_OBJECT.encode(), ImageStoreError), (b'', ImageStoreError),
    (b'[]', ManifestError), (b'{"schemaVersion": 2, "config": 5}', ManifestError), (b'\xff', ImageStoreError),
    (b' ' * (4 * 1024 * 1024 + 1), ImageStoreError),
]


@pytest.mark.parametrize('raw, expected', DIR_CASES, ids=lambda v: repr(v)[:30] if isinstance(v, bytes) else None)
def test_dir(tmp_path, raw, expected):
    root = str(tmp_path / 'dir')
    os.makedirs(root)
    with open(os.path.join(root, 'version'), 'wb') as handle:
        handle.write(transports.DIR_VERSION)
    with open(os.path.join(root, 'manifest.json'), 'wb') as handle:
        handle.write(raw)
    location = parse_image_location('dir:' + root)
    result = expect(outcome(lambda: transports.DirSource(location).top_manifest()), expected)
    if expected == OK:
        assert result.digest == sha(MANIFEST_RAW)
    current = outcome(transports.DirDestination(location).current_digest)
    assert current in (None, sha(MANIFEST_RAW)) or isinstance(current, ImageStoreError)


def test_the_corpus_is_large_enough():
    """The issue asks for at least 300 hostile or valid inputs; count what this file runs."""
    sizes = [len(REFERENCE_CASES), len(LOCATION_CASES), len(MANIFEST_CASES), len(CONFIG_CASES), len(ERROR_CASES),
             len(MANIFEST_BODIES), len(TAG_LISTS), len(CHALLENGES), len(TOKEN_BODIES), len(GOOD_TOKEN_BODIES), len(AUTH_FILES),
             len(REGISTRIES_CONFS), len(LAYOUT_CASES), len(ARCHIVE_CASES), len(DIR_CASES)]
    assert sum(sizes) >= 300, sizes
