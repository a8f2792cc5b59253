"""image_info against real registries, field by field against `skopeo inspect`, plus lying registries."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import json
import threading

import pytest

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from images import push, push_manifest_list
from registry_server import free_port
from tools import run, secret_scan, skopeo_inspect

OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'


def _no_traceback(result):
    assert 'Traceback' not in json.dumps(result.result) and 'Traceback' not in result.stderr


def _compare_with_skopeo(info, sk):
    assert info['digest'] == sk['Digest']
    assert info['layers'] == sk['Layers']
    assert sorted(info['repo_tags']) == sorted(sk['RepoTags'])
    assert info['labels'] == (sk.get('Labels') or {})
    assert info['env'] == (sk.get('Env') or [])
    assert info['architecture'] == sk['Architecture']
    assert info['os'] == sk['Os']
    assert info['created'].replace('Z', '')[:19] == sk['Created'][:19]
    assert [d['digest'] for d in info['layers_data']] == sk['Layers']
    if 'LayersData' in sk:  # skopeo >= 1.10
        assert [(d['digest'], d['size'], d['media_type']) for d in info['layers_data']] == \
            [(d['Digest'], d['Size'], d['MIMEType']) for d in sk['LayersData']]


@pytest.mark.parametrize('fmt', ['v2s2', 'oci'])
def test_matches_skopeo_inspect(registry_http, images, run_module, fmt):
    pushed = push(images.app, registry_http, 'info/app-%s:1.0' % fmt, format=fmt)
    push(images.app, registry_http, 'info/app-%s:latest' % fmt, format=fmt)
    info = run_module('image_info', dict(name=pushed.ref, insecure=True))
    assert info.get('failed') is not True, info
    assert info['changed'] is False
    sk = skopeo_inspect(pushed.ref)
    _compare_with_skopeo(info.result, sk)
    assert info['digest'] == pushed.digest
    assert info['labels']['org.example.app'] == 'podkit-app'
    assert 'APP_MODE=test' in info['env']
    assert len(info['layers']) == images.expected['layers']
    raw = run(['skopeo', 'inspect', '--raw', '--tls-verify=false', '--no-creds', 'docker://' + pushed.ref]).stdout
    assert info['media_type'] == json.loads(raw)['mediaType'] or fmt == 'oci'
    # By digest: same answer.
    by_digest = run_module('image_info', dict(name=pushed.ref_by_digest, insecure=True, tags=False, raw=True))
    assert by_digest['digest'] == pushed.digest and by_digest['repo_tags'] == []
    assert by_digest['manifest'] == json.loads(raw)
    assert [(d['digest'], d['size'], d['media_type']) for d in info['layers_data']] == \
        [(d['digest'], d['size'], d['mediaType']) for d in json.loads(raw)['layers']]


def test_multi_arch_index(registry_http, images, run_module):
    pushed = push_manifest_list(images.manifest_list, registry_http, 'info/multi:1', format='v2s2')
    info = run_module('image_info', dict(name=pushed.ref, insecure=True, platform='linux/arm64/v8'))
    assert info.get('failed') is not True, info
    sk = skopeo_inspect(pushed.ref)  # skopeo reports the index digest at top level
    assert info['digest'] == sk['Digest'] == pushed.digest
    assert info['media_type'] == DOCKER_LIST
    assert sorted(m['platform'] for m in info['manifests']) == ['linux/amd64', 'linux/arm64/v8']
    assert info['architecture'] == 'arm64' and info['variant'] == 'v8'
    arm = [m for m in info['manifests'] if m['platform'] == 'linux/arm64/v8'][0]
    assert info['manifest_digest'] == arm['digest'] != info['digest']
    sk_arm = json.loads(run(['skopeo', '--override-arch', 'arm64', '--override-variant', 'v8', 'inspect',
                             '--tls-verify=false', '--no-creds', 'docker://' + pushed.ref]).stdout)
    assert info['layers'] == sk_arm['Layers']
    amd = run_module('image_info', dict(name=pushed.ref, insecure=True, platform='linux/amd64'))
    assert amd['architecture'] == 'amd64' and amd['layers'] != info['layers']
    missing = run_module('image_info', dict(name=pushed.ref, insecure=True, platform='linux/s390x'))
    assert missing.get('failed') is True and 'linux/amd64' in missing['msg'] and 'linux/s390x' in missing['msg']


def test_token_registry_with_stored_credentials(registry_token, images, run_module, tmp_path):
    reg = registry_token
    pushed = push(images.base, reg, 'private/base:1')
    auth_file = tmp_path / 'auth.json'
    login = run_module('registry_login', dict(registry=reg.host, username=reg.readonly_username, password=reg.readonly_password,
                                              auth_file=str(auth_file), ca_cert=reg.ca_cert))
    assert login['changed'] is True, login
    info = run_module('image_info', dict(name=pushed.ref, auth_file=str(auth_file), ca_cert=reg.ca_cert))
    assert info.get('failed') is not True, info
    assert info['digest'] == pushed.digest
    sk = skopeo_inspect(pushed.ref, tls_verify=True, authfile=auth_file, cert_dir=reg.cert_dir)
    _compare_with_skopeo(info.result, sk)
    secret_scan(info, [reg.readonly_password])
    # Anonymous: refused for private/, with a message that says what to do.
    anon = run_module('image_info', dict(name=pushed.ref, ca_cert=reg.ca_cert, auth_file=str(tmp_path / 'none.json')))
    assert anon.get('failed') is True
    assert 'registry_login' in anon['msg'] or 'username' in anon['msg']
    _no_traceback(anon)


def test_anonymous_public_pull(registry_token, images, run_module, tmp_path):
    reg = registry_token
    pushed = push(images.base, reg, 'public/base:1')
    info = run_module('image_info', dict(name=pushed.ref, ca_cert=reg.ca_cert, auth_file=str(tmp_path / 'none.json')))
    assert info.get('failed') is not True, info
    assert info['digest'] == pushed.digest


def test_basic_auth_registry(registry_tls_basic, images, run_module):
    reg = registry_tls_basic
    pushed = push(images.base, reg, 'basic/base:1')
    info = run_module('image_info', dict(name=pushed.ref, username=reg.username, password=reg.password, ca_cert=reg.ca_cert))
    assert info['digest'] == pushed.digest, info
    secret_scan(info, [reg.password])
    wrong = run_module('image_info', dict(name=pushed.ref, username=reg.username, password='wrong-password', ca_cert=reg.ca_cert))
    assert wrong.get('failed') is True and 'unauthorized' in wrong['msg']
    _no_traceback(wrong)
    nocert = run_module('image_info', dict(name=pushed.ref, username=reg.username, password=reg.password))
    assert nocert.get('failed') is True and 'ca_cert' in nocert['msg']


@pytest.mark.parametrize('name, fragment', [
    ('127.0.0.1:5000/Upper/case:1', 'lowercase'),
    ('127.0.0.1:5000/repo@sha256:abc', 'sha256'),
    ('127.0.0.1:5000/repo:' + 't' * 129, '128'),
    ('', 'empty'),
])
def test_malformed_references(run_module, name, fragment):
    run_ = run_module('image_info', dict(name=name))
    assert run_.get('failed') is True
    assert fragment in run_['msg'], run_['msg']
    _no_traceback(run_)


def test_not_found_and_http_without_insecure(registry_http, run_module):
    missing = run_module('image_info', dict(name='%s/info/absent:1' % registry_http.host, insecure=True))
    assert missing.get('failed') is True and 'not found' in missing['msg'] and registry_http.host in missing['msg']
    plain = run_module('image_info', dict(name='%s/info/absent:1' % registry_http.host))
    assert plain.get('failed') is True and 'insecure' in plain['msg']
    unreachable = run_module('image_info', dict(name='127.0.0.1:%d/x:1' % free_port(), insecure=True))
    assert unreachable.get('failed') is True and 'cannot connect' in unreachable['msg']
    for r in (missing, plain, unreachable):
        _no_traceback(r)


# --- a registry that lies ------------------------------------------------------------------------------

class _Lies(object):
    """Canned manifest answers by tag: (content_type, body bytes, Docker-Content-Digest or None)."""
    answers = {}


class _LyingHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass

    def _answer(self, body):
        if self.path == '/v2/':
            self.send_response(200)
            self.send_header('Content-Length', '2')
            self.end_headers()
            if body:
                self.wfile.write(b'{}')
            return
        tag = self.path.rsplit('/', 1)[-1]
        if '/manifests/' not in self.path or tag not in _Lies.answers:
            self.send_response(404)
            self.send_header('Content-Length', '0')
            self.end_headers()
            return
        ctype, data, digest = _Lies.answers[tag]
        self.send_response(200)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(data)))
        if digest:
            self.send_header('Docker-Content-Digest', digest)
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_GET(self):  # noqa: N802
        self._answer(True)

    def do_HEAD(self):  # noqa: N802
        self._answer(False)


@pytest.fixture(scope='module')
def lying_registry():
    server = ThreadingHTTPServer(('127.0.0.1', free_port()), _LyingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield '127.0.0.1:%d' % server.server_address[1]
    server.shutdown()


def _manifest(**overrides):
    data = {'schemaVersion': 2, 'mediaType': OCI_MANIFEST,
            'config': {'mediaType': 'application/vnd.oci.image.config.v1+json', 'digest': 'sha256:' + 'a' * 64, 'size': 10},
            'layers': [{'mediaType': 'application/vnd.oci.image.layer.v1.tar+gzip', 'digest': 'sha256:' + 'b' * 64, 'size': 20}]}
    data.update(overrides)
    return json.dumps(data).encode()


@pytest.mark.parametrize('tag, answer, fragment', [
    ('wrongdigest', (OCI_MANIFEST, _manifest(), 'sha256:' + 'c' * 64), 'digest'),
    ('huge', (OCI_MANIFEST, b'{"pad": "' + b'x' * (5 * 1024 * 1024) + b'"}', None), '4 MiB'),
    ('notjson', (OCI_MANIFEST, b'{"schemaVersion": 2, ', None), 'not valid JSON'),
    ('schema', (OCI_MANIFEST, _manifest(layers=[{'mediaType': 'application/vnd.oci.image.layer.v1.tar+gzip', 'size': 20}]), None), 'digest'),
])
def test_lying_registry(lying_registry, run_module, tag, answer, fragment):
    _Lies.answers[tag] = answer
    result = run_module('image_info', dict(name='%s/liar/image:%s' % (lying_registry, tag), insecure=True))
    assert result.get('failed') is True, result
    assert fragment in result['msg'], result['msg']
    assert lying_registry in result['msg'] or 'liar/image' in result['msg']
    _no_traceback(result)


def test_schema_violation_names_the_path(lying_registry, run_module):
    body = _manifest(layers=[{'mediaType': 'application/vnd.oci.image.layer.v1.tar+gzip', 'size': 'twenty',
                              'digest': 'sha256:' + 'b' * 64}])
    _Lies.answers['schema2'] = (OCI_MANIFEST, body, 'sha256:' + hashlib.sha256(body).hexdigest())
    result = run_module('image_info', dict(name='%s/liar/image:schema2' % lying_registry, insecure=True))
    assert result.get('failed') is True
    assert 'layers' in result['msg'] and 'size' in result['msg'], result['msg']


class _Redirector(BaseHTTPRequestHandler):
    """A plain-http "registry" with Basic auth that sends manifest requests to a real registry on another origin."""
    target = None  # https://localhost:PORT of the real registry
    seen = []

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):  # noqa: N802
        _Redirector.seen.append((self.path, bool(self.headers.get('Authorization'))))
        if self.path == '/v2/' and not self.headers.get('Authorization'):
            self.send_response(401)
            self.send_header('WWW-Authenticate', 'Basic realm="redirector"')
        elif self.path == '/v2/':
            self.send_response(200)
        else:
            self.send_response(307)
            self.send_header('Location', _Redirector.target + self.path)
        self.send_header('Content-Length', '0')
        self.end_headers()


def test_credentials_withheld_from_another_origin_are_not_called_rejected(registry_tls_basic, images, run_module):
    reg = registry_tls_basic
    push(images.base, reg, 'withheld/base:1')  # it exists: a 401 there is about the credentials, not a missing image
    _Redirector.target = 'https://%s' % reg.localhost
    _Redirector.seen = []
    server = ThreadingHTTPServer(('127.0.0.1', free_port()), _Redirector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = '127.0.0.1:%d' % server.server_address[1]
    try:
        info = run_module('image_info', dict(name='%s/withheld/base:1' % host, username=reg.username, password=reg.password,
                                             insecure=True, ca_cert=reg.ca_cert))
    finally:
        server.shutdown()
        server.server_close()
    assert info.get('failed') is True, info
    assert info['msg'].startswith('unauthorized: registry %s redirected manifest for withheld/base:1 to https://%s/v2/withheld/'
                                  'base/manifests/1, another origin, which asks for credentials; they were withheld from it, '
                                  'not rejected' % (host, reg.localhost)), info['msg']
    assert 'rejected the credentials' not in info['msg']
    # The redirector got the credentials (it is the registry asked for); the real registry at the other origin
    # answered 401 because they never reached it.
    assert any(has_auth for path, has_auth in _Redirector.seen if '/manifests/' in path)
    answered = [line for line in reg.log().splitlines() if '"GET /v2/withheld/base/manifests/1 HTTP/1.1"' in line]
    assert answered and all('" 401 ' in line for line in answered), answered
    _no_traceback(info)
    secret_scan(info, [reg.password])
