# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import io
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.errors import (
    AuthenticationError,
    AuthorizationError,
    CleartextRefusedError,
    ConfigError,
    CredentialsWithheldError,
    DigestMismatchError,
    ManifestError,
    NotFoundError,
    PodkitError,
    RegistryUnreachableError,
    TLSError,
    TransferError,
)
from ansible_collections.podkit.containers.plugins.module_utils.registry import client as client_module
from ansible_collections.podkit.containers.plugins.module_utils.registry.client import RegistryClient, forget_known_schemes, parse_retry_after
from ansible_collections.podkit.containers.plugins.module_utils.registry.manifest import DOCKER_MANIFEST, OCI_MANIFEST, digest_of
from ansible_collections.podkit.containers.plugins.module_utils.options import RegistryOptions

from ansible_collections.podkit.containers.tests.unit.plugins.module_utils.registry.fake_registry import FakeRegistry, make_manifest, sha256

LOGIN_HINT = 'log in with podkit.containers.registry_login or pass username/password'


class Creds(object):
    def __init__(self, username=None, password=None, identity_token=None):
        self.username = username
        self.password = password
        self.identity_token = identity_token


class Conf(object):
    def __init__(self, insecure=()):
        self.insecure = insecure
        self.asked = []

    def is_insecure(self, host):
        self.asked.append(host)
        return host in self.insecure


@pytest.fixture(autouse=True)
def fresh_schemes():
    # Fakes come and go on recycled ports: what one test's probe learned must not decide the next test's scheme.
    forget_known_schemes()
    yield
    forget_known_schemes()


@pytest.fixture
def fake():
    started = []

    def factory(**kwargs):
        reg = FakeRegistry(**kwargs).start()
        started.append(reg)
        return reg

    yield factory
    for reg in started:
        reg.stop()


def make_client(reg, creds=None, sleeps=None, pool_size=None, **options):
    options.setdefault('insecure', reg.scheme == 'http')
    options.setdefault('timeout', 5.0)
    sleeps = sleeps if sleeps is not None else []
    return RegistryClient(reg.host, RegistryOptions(**options), credentials=lambda registry, repository: creds,
                          sleep=sleeps.append, pool_size=pool_size)


# -- basics -------------------------------------------------------------------------------------------

def test_ping_anonymous_insecure_falls_back_to_http(fake):
    reg = fake()
    client = make_client(reg)
    info = client.ping()
    assert info['scheme'] == 'http' and info['status'] == 200 and info['auth'] is None
    assert info['api_version'] == 'registry/2.0'
    # The https probe failed on the plain-http port: counted apart from the registry requests (the fake never sees it).
    assert client.stats == {'GET': 1} and client.probes == 1
    assert reg.count() == 1


def test_second_client_does_not_probe_again(fake):
    reg = fake()
    first = make_client(reg)
    first.ping()
    second = make_client(reg)
    assert second.ping()['scheme'] == 'http'
    assert (first.probes, second.probes) == (1, 0)
    assert second.stats == {'GET': 1}
    # Registries not marked insecure never probe and never use what a probe found.
    strict = make_client(reg, insecure=False)
    with pytest.raises(TLSError):
        strict.ping()
    assert strict.probes == 0


def test_probe_of_tls_registry_learns_https(tls_fake):
    client = make_client(tls_fake, insecure=True)
    assert client.ping()['scheme'] == 'https' and client.probes == 1
    assert client.stats == {'GET': 1}
    assert make_client(tls_fake, insecure=True).ping()['scheme'] == 'https'


def test_conf_marks_registry_insecure(fake):
    reg = fake()
    conf = Conf(insecure=(reg.host,))
    client = RegistryClient(reg.host, RegistryOptions(timeout=5.0), conf=conf, credentials=lambda r, p: None)
    assert client.ping()['scheme'] == 'http'
    assert conf.asked == [reg.host]


def test_http_registry_not_marked_insecure(fake):
    reg = fake()
    client = make_client(reg, insecure=False)
    with pytest.raises(TLSError) as info:
        client.ping()
    assert info.value.msg.startswith('registry %s does not speak TLS (' % reg.host)
    assert info.value.msg.endswith('mark it insecure (insecure: true or registries.conf) if plain http is intended')


def test_connection_refused_retries_then_fails():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    sleeps = []
    client = RegistryClient('127.0.0.1:%d' % port, RegistryOptions(retries=2, timeout=2.0), credentials=lambda r, p: None,
                            sleep=sleeps.append)
    with pytest.raises(RegistryUnreachableError) as info:
        client.get_manifest('a/b', 'latest')
    assert info.value.msg == ('cannot connect to registry 127.0.0.1:%d: connection refused; check the address and that the registry '
                              'is running' % port)
    assert sleeps == [0.5, 1.0]
    assert info.value.details['registry'] == '127.0.0.1:%d' % port and info.value.details['repository'] == 'a/b'


def test_docker_hub_api_host():
    client = RegistryClient('docker.io', RegistryOptions(), credentials=lambda r, p: None)
    assert client.registry == 'docker.io' and client.host == 'registry-1.docker.io'
    client = RegistryClient('https://quay.io/', RegistryOptions(), credentials=lambda r, p: None)
    assert client.registry == 'quay.io'


def test_tls_session_settings(tmp_path):
    paths = []
    for name in ('ca.pem', 'c.pem', 'k.pem'):
        (tmp_path / name).write_text('PEM')
        paths.append(str(tmp_path / name))
    options = RegistryOptions(ca_cert=paths[0], client_cert=paths[1], client_key=paths[2])
    client = RegistryClient('reg.example', options, credentials=lambda r, p: None)
    assert client.session.verify == paths[0] and client.session.cert == (paths[1], paths[2])
    assert RegistryClient('reg.example', RegistryOptions(validate_certs=False)).session.verify is False
    assert RegistryClient('reg.example', RegistryOptions()).session.verify is True


def test_default_credentials_from_options(fake):
    reg = fake(auth='basic')
    raw, blobs = make_manifest()
    reg.add_image('a/b', 'v1', raw, blobs)
    client = RegistryClient(reg.host, RegistryOptions(username='alice', password='secret', insecure=True, timeout=5.0))
    assert client.get_manifest('a/b', 'v1').raw == raw


# -- authentication -----------------------------------------------------------------------------------

def test_bearer_anonymous_pull_and_token_cache(fake):
    reg = fake(auth='bearer', anonymous_pull=True)
    raw, blobs = make_manifest()
    digest = reg.add_image('a/b', 'v1', raw, blobs)
    client = make_client(reg)
    manifest = client.get_manifest('a/b', 'v1')
    assert manifest.digest == digest and manifest.media_type == OCI_MANIFEST
    assert len(reg.token_requests) == 1
    token_request = reg.token_requests[0]
    assert token_request['query']['scope'] == ['repository:a/b:pull'] and token_request['query']['service'] == ['fake-registry']
    assert token_request['authorization'] is None
    client.get_manifest('a/b', digest)
    client.blob_exists('a/b', manifest.config['digest'])
    assert len(reg.token_requests) == 1
    # 401, token, 200, then GET and HEAD with the cached token; the https probe is counted apart
    assert client.stats == {'GET': 4, 'HEAD': 1} and client.probes == 1


def test_bearer_with_credentials(fake):
    # A plain-http registry marked insecure (make_client) with its plain-http realm: Basic may go there.
    reg = fake(auth='bearer')
    raw, blobs = make_manifest()
    reg.add_image('a/b', 'v1', raw, blobs)
    client = make_client(reg, creds=Creds('alice', 'secret'))
    assert client.get_manifest('a/b', 'v1').raw == raw
    assert reg.token_requests[0]['authorization'].startswith('Basic ')
    assert reg.token_requests[0]['query']['account'] == ['alice']


def test_bearer_identity_token(fake):
    reg = fake(auth='bearer')
    raw, blobs = make_manifest()
    reg.add_image('a/b', 'v1', raw, blobs)
    client = make_client(reg, creds=Creds(identity_token='refresh-abc'))
    assert client.get_manifest('a/b', 'v1').raw == raw
    form = reg.token_requests[0]['form']
    assert form['grant_type'] == ['refresh_token'] and form['client_id'] == ['podkit'] and form['scope'] == ['repository:a/b:pull']


def test_bearer_wrong_password(fake):
    reg = fake(auth='bearer')
    client = make_client(reg, creds=Creds('alice', 'wrong-pw'))
    with pytest.raises(AuthenticationError) as info:
        client.get_manifest('a/b', 'v1')
    assert info.value.msg == 'unauthorized: the registry %s rejected the credentials for user alice; %s' % (reg.host, LOGIN_HINT)
    assert 'wrong-pw' not in info.value.msg + repr(info.value.details)


def test_bearer_anonymous_denied(fake):
    reg = fake(auth='bearer')
    client = make_client(reg)
    with pytest.raises(AuthenticationError, match='requires authentication; ' + LOGIN_HINT):
        client.get_manifest('a/b', 'v1')


@pytest.mark.parametrize('garbage, fragment', [('notjson', 'its body is not valid JSON at line 1, column 1: Expecting value'),
                                               ('nofield', 'no token or access_token field'), ('500', 'HTTP 500')])
def test_token_server_garbage(fake, garbage, fragment):
    reg = fake(auth='bearer', anonymous_pull=True)
    reg.faults['token_garbage'] = garbage
    client = make_client(reg, creds=Creds('alice', 'secret'))
    with pytest.raises(AuthenticationError) as info:
        client.get_manifest('a/b', 'v1')
    assert info.value.msg == 'token server http://%s/token answered an invalid response: %s' % (reg.host, fragment)


def test_basic_auth(fake):
    reg = fake(auth='basic')
    raw, blobs = make_manifest()
    reg.add_image('a/b', 'v1', raw, blobs)
    client = make_client(reg, creds=Creds('alice', 'secret'))
    assert client.get_manifest('a/b', 'v1').raw == raw
    client.get_manifest('a/b', 'v1')
    # once the challenge is known, Basic goes along with every request
    assert reg.requests[-1][2]['Authorization'].startswith('Basic ')
    bad = make_client(reg, creds=Creds('alice', 'nope'))
    with pytest.raises(AuthenticationError) as info:
        bad.get_manifest('a/b', 'v1')
    assert info.value.msg.startswith('unauthorized: the registry %s rejected the credentials for user alice' % reg.host)
    assert info.value.msg.endswith(LOGIN_HINT) and 'nope' not in info.value.msg


@pytest.mark.parametrize('auth, kind', [(None, 'none'), ('basic', 'basic'), ('bearer', 'bearer')])
def test_verify_login(fake, auth, kind):
    reg = fake(auth=auth)
    client = make_client(reg)
    assert client.verify_login('alice', 'secret') == kind
    if auth:
        with pytest.raises(AuthenticationError) as info:
            make_client(reg).verify_login('alice', 'bad-password')
        assert 'rejected the credentials for user alice' in info.value.msg
        assert 'bad-password' not in info.value.msg


def test_verify_login_then_uses_credentials(fake):
    reg = fake(auth='bearer')
    raw, blobs = make_manifest()
    reg.add_image('a/b', 'v1', raw, blobs)
    client = make_client(reg)
    client.verify_login('alice', 'secret')
    assert client.get_manifest('a/b', 'v1').raw == raw


def test_push_scope_token(fake):
    reg = fake(auth='bearer', anonymous_pull=True)
    raw, blobs = make_manifest()
    client = make_client(reg, creds=Creds('alice', 'secret'))
    assert client.put_manifest('x/y', 'v1', raw, OCI_MANIFEST) == sha256(raw)
    assert reg.token_requests[-1]['query']['scope'] == ['repository:x/y:pull,push']


# -- manifests ----------------------------------------------------------------------------------------

def test_head_404_falls_back_to_get(fake):
    reg = fake()
    reg.faults['head_404'] = True
    raw, blobs = make_manifest(media_type=DOCKER_MANIFEST)
    digest = reg.add_image('a/b', 'v1', raw, blobs)
    client = make_client(reg)
    assert client.head_manifest('a/b', 'v1') == {'digest': digest, 'mediaType': DOCKER_MANIFEST, 'size': len(raw)}
    assert [r[0] for r in reg.requests if '/manifests/' in r[1]] == ['HEAD', 'GET']
    assert client.manifest_exists('a/b', digest)
    with pytest.raises(NotFoundError) as info:
        client.head_manifest('a/b', 'v2')
    assert info.value.msg.startswith('manifest for a/b:v2 not found in registry %s' % reg.host)
    assert not client.manifest_exists('a/b', 'v2')


def test_head_manifest_and_exists(fake):
    reg = fake()
    raw, blobs = make_manifest(media_type=DOCKER_MANIFEST)
    digest = reg.add_image('a/b', 'v1', raw, blobs)
    client = make_client(reg)
    assert client.head_manifest('a/b', 'v1') == {'digest': digest, 'mediaType': DOCKER_MANIFEST, 'size': len(raw)}
    assert client.manifest_exists('a/b', 'v1')
    assert not client.manifest_exists('a/b', 'v2')


def test_manifest_not_found_messages(fake):
    reg = fake()
    raw, blobs = make_manifest()
    reg.add_image('a/b', 'v1', raw, blobs)
    client = make_client(reg)
    with pytest.raises(NotFoundError) as info:
        client.get_manifest('a/b', 'missing')
    assert info.value.msg.startswith('manifest for a/b:missing not found in registry %s' % reg.host)
    assert info.value.details['repository'] == 'a/b' and info.value.details['status'] == 404
    with pytest.raises(NotFoundError) as info:
        client.get_manifest('nope/x', 'v1')
    assert info.value.msg.startswith('repository nope/x not found in registry %s' % reg.host)
    with pytest.raises(NotFoundError, match='manifest for a/b:missing not found'):
        client.head_manifest('a/b', 'missing')


def test_oci_manifest_needs_oci_accept(fake):
    reg = fake()
    raw, blobs = make_manifest()
    reg.add_image('a/b', 'v1', raw, blobs)
    client = make_client(reg)
    with pytest.raises(NotFoundError):
        client.get_manifest('a/b', 'v1', accept=[DOCKER_MANIFEST])
    assert reg.requests[-1][2]['Accept'] == DOCKER_MANIFEST
    assert client.get_manifest('a/b', 'v1').media_type == OCI_MANIFEST
    assert OCI_MANIFEST in reg.requests[-1][2]['Accept']


def test_manifest_digest_checks(fake):
    reg = fake()
    raw, blobs = make_manifest()
    digest = reg.add_image('a/b', 'v1', raw, blobs)
    other = 'sha256:' + '0' * 64
    reg.manifests[('a/b', other)] = (OCI_MANIFEST, raw)
    client = make_client(reg)
    with pytest.raises(DigestMismatchError, match='has digest %s, expected %s' % (digest, other)):
        client.get_manifest('a/b', other)
    reg.faults['manifest_digest_header'] = other
    with pytest.raises(DigestMismatchError, match='but the registry announced %s' % other):
        client.get_manifest('a/b', 'v1')


def test_endless_manifest_is_capped(fake):
    reg = fake()
    reg.faults['endless_manifest'] = True
    client = make_client(reg)
    started = time.time()
    with pytest.raises(ManifestError) as info:
        client.get_manifest('a/b', 'v1')
    assert info.value.msg == 'manifest of a/b:v1 in registry %s is larger than 4 MiB' % reg.host
    assert time.time() - started < 10


def test_put_manifest(fake):
    reg = fake()
    raw, blobs = make_manifest()
    client = make_client(reg)
    assert client.put_manifest('a/b', 'v1', raw, OCI_MANIFEST) == sha256(raw)
    assert reg.manifests[('a/b', 'v1')] == (OCI_MANIFEST, raw)
    with pytest.raises(DigestMismatchError):
        client.put_manifest('a/b', 'sha256:' + '1' * 64, raw, OCI_MANIFEST)
    reg.faults['manifest_digest_header'] = 'sha256:' + '2' * 64
    with pytest.raises(DigestMismatchError, match='stored'):
        client.put_manifest('a/b', 'v2', raw, OCI_MANIFEST)


# -- blobs --------------------------------------------------------------------------------------------

BIG = bytes(bytearray(range(256))) * 4096  # 1 MiB


def add_blob(reg, repo, data):
    reg.blobs[(repo, sha256(data))] = data
    return sha256(data)


def test_blob_download_and_exists(fake):
    reg = fake()
    digest = add_blob(reg, 'a/b', BIG)
    client = make_client(reg)
    out = io.BytesIO()
    assert client.download_blob('a/b', digest, len(BIG), out) == len(BIG)
    assert out.getvalue() == BIG
    assert client.blob_exists('a/b', digest) == len(BIG)
    assert client.blob_exists('a/b', 'sha256:' + '3' * 64) is None
    assert client.get_blob_bytes('a/b', digest) == BIG
    with pytest.raises(ManifestError, match='larger than 1000 bytes'):
        client.get_blob_bytes('a/b', digest, max_size=1000)


def test_blob_not_found(fake):
    reg = fake()
    client = make_client(reg)
    missing = 'sha256:' + '4' * 64
    with pytest.raises(NotFoundError) as info:
        client.get_blob_bytes('a/b', missing)
    assert info.value.msg.startswith('blob %s in repository a/b not found in registry %s' % (missing, reg.host))


def test_blob_redirect_strips_authorization(fake):
    reg = fake(auth='bearer')
    digest = add_blob(reg, 'a/b', b'hello world')
    reg.faults['redirect_blobs'] = True
    client = make_client(reg, creds=Creds('alice', 'secret'))
    assert client.get_blob_bytes('a/b', digest) == b'hello world'
    assert reg.storage_auth_headers == [None]
    blob_requests = [r for r in reg.requests if r[1].startswith('/v2/a/b/blobs/')]
    assert blob_requests[-1][2]['Authorization'].startswith('Bearer ')


@pytest.mark.parametrize('ignore_range', [False, True])
def test_blob_resume_after_drop(fake, ignore_range):
    reg = fake()
    digest = add_blob(reg, 'a/b', BIG)
    reg.faults['drop_blob'] = {'times': 2, 'after': 300000}
    reg.faults['ignore_range'] = ignore_range
    sleeps = []
    client = make_client(reg, sleeps=sleeps)
    out = io.BytesIO()
    client.download_blob('a/b', digest, len(BIG), out)
    assert out.getvalue() == BIG
    gets = [r for r in reg.requests if r[0] == 'GET' and r[1].startswith('/v2/a/b/blobs/')]
    assert len(gets) == 3
    assert 'Range' not in gets[0][2]
    assert gets[1][2]['Range'] == 'bytes=300000-'
    assert gets[2][2]['Range'] == ('bytes=300000-' if ignore_range else 'bytes=600000-')


def test_blob_drop_without_progress_gives_up(fake):
    reg = fake()
    digest = add_blob(reg, 'a/b', BIG)
    reg.faults['drop_blob'] = {'times': 10, 'after': 0}
    client = make_client(reg, retries=2)
    with pytest.raises(TransferError, match='was interrupted at byte 0'):
        client.download_blob('a/b', digest, len(BIG), io.BytesIO())


def test_blob_digest_and_size_mismatch(fake):
    reg = fake()
    digest = add_blob(reg, 'a/b', b'hello world')
    reg.faults['corrupt_blob'] = True
    client = make_client(reg)
    with pytest.raises(DigestMismatchError) as info:
        client.get_blob_bytes('a/b', digest)
    assert info.value.details['expected'] == digest
    reg.faults['corrupt_blob'] = False
    with pytest.raises(DigestMismatchError, match='larger than the announced 5 bytes'):
        client.download_blob('a/b', digest, 5, io.BytesIO())
    with pytest.raises(DigestMismatchError, match='has 11 bytes, expected 20'):
        client.download_blob('a/b', digest, 20, io.BytesIO())


# -- uploads ------------------------------------------------------------------------------------------

def _upload_requests(reg):
    return [(r[0], r[2].get('Content-Length')) for r in reg.requests if '/blobs/uploads/' in r[1]]


@pytest.mark.parametrize('faults', [{}, {'absolute_location': True}])
@pytest.mark.parametrize('stream', ['file', 'chunks'])
def test_upload_blob_monolithic(fake, faults, stream):
    reg = fake(auth='bearer')
    reg.faults.update(faults)
    client = make_client(reg, creds=Creds('alice', 'secret'))
    digest = sha256(BIG)

    def open_stream():
        if stream == 'file':
            return io.BytesIO(BIG)
        return iter([BIG[:1000], BIG[1000:300000], BIG[300000:]])

    assert client.upload_blob('a/b', digest, len(BIG), open_stream) == digest
    assert reg.blobs[('a/b', digest)] == BIG
    # POST opens the session, one PUT carries the whole blob with its Content-Length (no chunked framing)
    assert _upload_requests(reg)[-2:] == [('POST', '0'), ('PUT', str(len(BIG)))]
    put = [r for r in reg.requests if r[0] == 'PUT'][-1]
    assert '_state=' in put[1] and 'digest=sha256%3A' in put[1] and 'Transfer-Encoding' not in put[2]
    assert not reg.uploads


def test_upload_blob_falls_back_to_patch(fake):
    reg = fake(auth='bearer')
    reg.faults['no_monolithic'] = True
    client = make_client(reg, creds=Creds('alice', 'secret'))
    digest = sha256(BIG)
    opened = []

    def open_stream():
        opened.append(1)
        return io.BytesIO(BIG)

    assert client.upload_blob('a/b', digest, len(BIG), open_stream) == digest
    assert reg.blobs[('a/b', digest)] == BIG
    # The refused PUT's session is cancelled; a new one gets a PATCH (one chunk) and a closing PUT without body.
    assert [m for m, dummy in _upload_requests(reg)][-6:] == ['POST', 'PUT', 'DELETE', 'POST', 'PATCH', 'PUT']
    assert _upload_requests(reg)[-1] == ('PUT', '0')
    assert len(opened) == 2 and not reg.uploads
    # ... and the client remembers: the next blob goes straight to PATCH.
    other = b'x' * 5000
    client.upload_blob('a/b', sha256(other), len(other), lambda: io.BytesIO(other))
    assert [m for m, dummy in _upload_requests(reg)][-3:] == ['POST', 'PATCH', 'PUT']
    assert reg.blobs[('a/b', sha256(other))] == other


@pytest.mark.parametrize('refusal', [400, 415, 405, 501])
def test_upload_falls_back_to_chunks_with_content_range(fake, monkeypatch, refusal):
    monkeypatch.setattr(client_module, 'UPLOAD_CHUNK_SIZE', 1000)
    reg = fake(auth='bearer')
    reg.faults['no_monolithic'] = refusal
    client = make_client(reg, creds=Creds('alice', 'secret'))
    data = os.urandom(2500)
    digest = sha256(data)
    assert client.upload_blob('a/b', digest, len(data), lambda: io.BytesIO(data)) == digest
    assert reg.blobs[('a/b', digest)] == data and not reg.uploads
    patches = [r[2] for r in reg.requests if r[0] == 'PATCH']
    assert [(h['Content-Range'], h['Content-Length']) for h in patches] == [('0-999', '1000'), ('1000-1999', '1000'),
                                                                            ('2000-2499', '500')]
    assert [m for m, dummy in _upload_requests(reg)][-8:] == ['POST', 'PUT', 'DELETE', 'POST', 'PATCH', 'PATCH', 'PATCH', 'PUT']
    assert _upload_requests(reg)[-1] == ('PUT', '0')


def test_chunked_upload_of_a_mismatching_stream_sends_no_last_chunk(fake, monkeypatch):
    monkeypatch.setattr(client_module, 'UPLOAD_CHUNK_SIZE', 1000)
    reg = fake()
    reg.faults['no_monolithic'] = 415
    client = make_client(reg)
    client.upload_blob('c/d', sha256(b'first'), 5, lambda: io.BytesIO(b'first'))
    assert not client._monolithic
    del reg.requests[:]
    data = os.urandom(2500)
    with pytest.raises(DigestMismatchError):
        client.upload_blob('a/b', sha256(b'other'), len(data), lambda: io.BytesIO(data))
    # Two full chunks went out before the stream's end proved it wrong; the session is cancelled, nothing stored.
    assert [r[2]['Content-Range'] for r in reg.requests if r[0] == 'PATCH'] == ['0-999', '1000-1999']
    assert reg.count('DELETE') == 1 and not reg.uploads and not [key for key in reg.blobs if key[0] == 'a/b']


def test_digest_invalid_400_is_a_verdict_not_a_fallback(fake):
    reg = fake()
    client = make_client(reg)
    with pytest.raises(DigestMismatchError):
        client.upload_blob('a/b', sha256(b'expected'), 8, lambda: io.BytesIO(b'xxxxxxxx'), verify=False)
    assert client._monolithic and reg.count('PATCH') == 0


def test_upload_empty_blob(fake):
    reg = fake()
    client = make_client(reg)
    empty = sha256(b'')
    assert client.upload_blob('a/b', empty, 0, lambda: io.BytesIO(b'')) == empty
    assert reg.blobs[('a/b', empty)] == b''
    assert _upload_requests(reg)[-1] == ('PUT', '0')


@pytest.mark.parametrize('data, message', [
    (b'x' * 9, 'larger than 8 bytes'),
    (b'x' * 7, 'has 7 bytes, expected 8'),
])
def test_upload_local_size_mismatch_is_never_sent_as_is(fake, data, message):
    reg = fake()
    client = make_client(reg, timeout=3.0)
    digest = sha256(b'y' * 8)
    started = time.time()
    with pytest.raises(DigestMismatchError, match=message):
        client.upload_blob('a/b', digest, 8, lambda: io.BytesIO(data), verify=False)
    # A short body must not leave the request waiting for bytes that never come.
    assert time.time() - started < 2.0
    assert ('a/b', digest) not in reg.blobs and not reg.uploads


def test_upload_unverified_mismatch_is_refused_by_the_registry(fake):
    reg = fake()
    client = make_client(reg)
    digest = sha256(b'expected')
    with pytest.raises(DigestMismatchError) as info:
        client.upload_blob('a/b', digest, 8, lambda: io.BytesIO(b'xxxxxxxx'), verify=False)
    assert 'does not match its digest or size' in info.value.msg
    assert ('a/b', digest) not in reg.blobs


def test_upload_stream_error_cancels_the_session(fake):
    reg = fake()
    client = make_client(reg)

    def failing():
        yield b'abc'
        raise DigestMismatchError('the source broke')

    with pytest.raises(DigestMismatchError, match='the source broke'):
        client.upload_blob('a/b', sha256(b'abcdef'), 6, failing, verify=False)
    assert reg.count('DELETE') == 1 and not reg.uploads


def test_upload_local_content_mismatch(fake):
    reg = fake()
    client = make_client(reg)
    digest = sha256(b'expected')
    with pytest.raises(DigestMismatchError, match='local content'):
        client.upload_blob('a/b', digest, 8, lambda: io.BytesIO(b'xxxxxxxx'))
    assert reg.count('DELETE') == 1
    assert ('a/b', digest) not in reg.blobs


def test_check_push(fake):
    reg = fake(auth='bearer', anonymous_pull=True)
    client = make_client(reg, creds=Creds('alice', 'secret'))
    assert client.check_push('a/b') is None
    # the first POST meets the 401 that teaches the challenge; then the session is opened and cancelled
    assert [r[0] for r in reg.requests if '/blobs/uploads/' in r[1]] == ['POST', 'POST', 'DELETE']
    assert not reg.uploads and not reg.blobs
    assert reg.token_requests[-1]['query']['scope'] == ['repository:a/b:pull,push']


def test_check_push_without_push_rights(fake):
    reg = fake(auth='bearer', anonymous_pull=True)
    anonymous = make_client(reg)
    with pytest.raises(AuthenticationError) as info:
        anonymous.check_push('a/b')
    assert info.value.msg.startswith('unauthorized: uploads to repository a/b in registry %s requires authentication' % reg.host)
    reg.faults['deny_push'] = True
    with pytest.raises(AuthorizationError) as info:
        make_client(reg, creds=Creds('alice', 'secret')).check_push('a/b')
    assert info.value.msg.startswith('denied: access to uploads to repository a/b in registry %s is forbidden' % reg.host)
    assert info.value.details['status'] == 403
    assert not reg.uploads and not reg.blobs


def test_mount_blob(fake):
    reg = fake(auth='bearer')
    digest = add_blob(reg, 'src/repo', b'shared')
    client = make_client(reg, creds=Creds('alice', 'secret'))
    assert client.mount_blob('dst/repo', digest, 'src/repo') is True
    assert reg.blobs[('dst/repo', digest)] == b'shared'
    scopes = reg.token_requests[-1]['query']['scope']
    assert sorted(scopes) == ['repository:dst/repo:pull,push', 'repository:src/repo:pull']
    reg.faults['refuse_mount'] = True
    assert client.mount_blob('other/repo', digest, 'src/repo') is False
    assert reg.count('DELETE') == 1 and not reg.uploads


# -- tags, retries, errors ----------------------------------------------------------------------------

def test_list_tags_pagination(fake):
    reg = fake()
    raw, blobs = make_manifest()
    for tag in ('v1', 'v2', 'v3', 'v4', 'v5'):
        reg.add_image('a/b', tag, raw, blobs)
    client = make_client(reg)
    assert client.list_tags('a/b', page_size=2) == ['v1', 'v2', 'v3', 'v4', 'v5']
    assert reg.count('GET', '/v2/a/b/tags/list') == 3
    with pytest.raises(NotFoundError, match='repository x/y not found in registry'):
        client.list_tags('x/y')


@pytest.mark.parametrize('fault, sleeps_expected', [
    ({'code': 429, 'retry_after': 2, 'times': 1}, [2.0]),
    ({'code': 429, 'retry_after': 3600, 'times': 1}, [30.0]),
    ({'code': 503, 'times': 2}, [0.5, 1.0]),
    ({'code': 502, 'times': 1}, [0.5]),
    ({'code': 500, 'times': 1}, [0.5]),
])
def test_retries_on_transient_statuses(fake, fault, sleeps_expected):
    reg = fake()
    raw, blobs = make_manifest()
    reg.add_image('a/b', 'v1', raw, blobs)
    sleeps = []
    client = make_client(reg, sleeps=sleeps)
    client.ping()
    reg.faults['status'] = fault
    assert client.get_manifest('a/b', 'v1').raw == raw
    assert sleeps == sleeps_expected


def test_retries_exhausted(fake):
    reg = fake()
    sleeps = []
    client = make_client(reg, sleeps=sleeps, retries=2)
    client.ping()
    reg.faults['status'] = {'code': 503, 'times': 10}
    with pytest.raises(TransferError) as info:
        client.get_manifest('a/b', 'v1')
    assert info.value.msg.startswith('registry %s answered HTTP 503 for manifest for a/b:v1 (UNAVAILABLE: try later)' % reg.host)
    assert sleeps == [0.5, 1.0]


def test_no_retry_on_404_and_403(fake):
    reg = fake()
    sleeps = []
    client = make_client(reg, sleeps=sleeps)
    with pytest.raises(NotFoundError):
        client.get_manifest('a/b', 'v1')
    reg.faults['status'] = {'code': 403, 'times': 5}
    with pytest.raises(Exception) as info:
        client.get_manifest('a/b', 'v1')
    assert type(info.value).__name__ == 'AuthorizationError'
    assert 'denied: access to manifest for a/b:v1 in registry' in info.value.msg
    assert sleeps == []


def test_parse_retry_after():
    assert parse_retry_after('5') == 5.0
    assert parse_retry_after(None) is None
    assert parse_retry_after('soon') is None
    assert parse_retry_after('Wed, 21 Oct 2015 07:28:00 GMT', now=1445412470) == 10.0


# -- TLS ----------------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def certificate(tmp_path_factory):
    if not shutil.which('openssl'):
        pytest.skip('openssl is not installed')
    path = tmp_path_factory.mktemp('tls')
    cert, key = str(path / 'cert.pem'), str(path / 'key.pem')
    subprocess.check_call(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
                           '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


@pytest.fixture
def tls_fake(fake, certificate):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return fake(tls_context=context)


def test_self_signed_without_ca(tls_fake):
    client = make_client(tls_fake, insecure=False)
    with pytest.raises(TLSError) as info:
        client.ping()
    assert info.value.msg == ('certificate verify failed for registry %s: it is issued by a CA this host does not trust '
                              '(self-signed certificate); pass ca_cert (the CA bundle) or validate_certs: false' % tls_fake.host)


def test_self_signed_with_another_ca_names_ca_cert_and_does_not_suggest_it(tls_fake, tmp_path):
    other = tmp_path / 'other-ca.pem'
    subprocess.check_call(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=other CA',
                           '-keyout', str(tmp_path / 'k.pem'), '-out', str(other)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = make_client(tls_fake, insecure=False, ca_cert=str(other))
    with pytest.raises(TLSError) as info:
        client.ping()
    assert info.value.msg == ('certificate verify failed for registry %s: it is not issued by a CA in ca_cert %s (self-signed '
                              'certificate); give ca_cert the CA that issued it' % (tls_fake.host, other))
    assert 'pass ca_cert' not in info.value.msg


def test_self_signed_with_ca_or_insecure(tls_fake, certificate):
    assert make_client(tls_fake, insecure=False, ca_cert=certificate[0]).ping()['scheme'] == 'https'
    assert make_client(tls_fake, insecure=True).ping()['scheme'] == 'https'
    assert make_client(tls_fake, insecure=False, validate_certs=False).ping()['status'] == 200


def test_digest_helper_matches_fake():
    assert digest_of(b'abc') == sha256(b'abc')
    assert json.loads(make_manifest()[0].decode('utf-8'))['schemaVersion'] == 2
    assert os.path.basename(__file__) == 'test_client.py'


def test_default_credentials_from_auth_file(fake, tmp_path):
    reg = fake(auth='bearer')
    raw, blobs = make_manifest()
    reg.add_image('a/b', 'v1', raw, blobs)
    auth_file = tmp_path / 'auth.json'
    auth_file.write_text(json.dumps({'auths': {reg.host: {'auth': base64.b64encode(b'alice:secret').decode('ascii')}}}))
    client = RegistryClient(reg.host, RegistryOptions(auth_file=str(auth_file), insecure=True, timeout=5.0))
    assert client.get_manifest('a/b', 'v1').raw == raw
    assert reg.token_requests[0]['query']['account'] == ['alice']


# -- sharing one client between threads, connection pool, TLS contexts -------------------------------

def test_threads_share_one_client(fake):
    reg = fake(auth='bearer', anonymous_pull=True)
    blobs = [add_blob(reg, 'a/b', (b'%d' % i) * 1000) for i in range(24)]
    client = make_client(reg, pool_size=8)
    errors = []
    barrier = threading.Barrier(8)

    def work(part):
        try:
            barrier.wait()
            for digest in part:
                client.get_blob_bytes('a/b', digest)
                client.blob_exists('a/b', digest)
        except Exception as exc:  # pylint: disable=broad-except
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(blobs[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    # One token for the scope, fetched once for all threads (the first request of each learns nothing new).
    assert len(reg.token_requests) == 1
    # Every request counted exactly once: what the fake saw equals the client's stats (plus the token GET).
    assert sum(client.stats.values()) == reg.count() and client.stats['HEAD'] == 24
    assert client.probes == 1


def test_pool_size(fake):
    reg = fake()
    client = make_client(reg, pool_size=17)
    assert client.session.get_adapter('http://%s/' % reg.host)._pool_maxsize == 17
    assert client.session.get_adapter('https://%s/' % reg.host)._pool_maxsize == 17
    assert make_client(reg).session.get_adapter('http://x/')._pool_maxsize == client_module.DEFAULT_POOL_SIZE


def test_unverified_https_uses_a_context_without_ca_certificates(fake):
    reg = fake()
    client = make_client(reg)
    adapter = client.session.get_adapter('https://%s/' % reg.host)
    request = client.session.prepare_request(__import__('requests').Request('GET', 'https://%s/v2/' % reg.host))
    dummy, unverified = adapter.build_connection_pool_key_attributes(request, False)
    assert unverified['ssl_context'].verify_mode == ssl.CERT_NONE and unverified['ssl_context'].get_ca_certs() == []
    dummy, verified = adapter.build_connection_pool_key_attributes(request, True)
    assert verified.get('ssl_context') is not unverified['ssl_context'] and verified['cert_reqs'] == 'CERT_REQUIRED'
    # Shared by clients without a client certificate; a client certificate gets loaded into a context of its own.
    other = make_client(reg).session.get_adapter('https://x/')
    assert other.build_connection_pool_key_attributes(request, False)[1]['ssl_context'] is unverified['ssl_context']
    with_cert = make_client(reg).session.get_adapter('https://x/')
    private = with_cert.build_connection_pool_key_attributes(request, False, cert=('/c.pem', '/k.pem'))[1]['ssl_context']
    assert private is not unverified['ssl_context'] and private.verify_mode == ssl.CERT_NONE


def test_redirect_elsewhere_tries_system_trust_before_ca_cert(tmp_path):
    """Blob storage behind a redirect is usually signed by a public CA, not the registry's private one."""
    import requests as _requests
    ca = tmp_path / 'ca.pem'
    ca.write_text('unused')
    client = RegistryClient('registry.example:5000', RegistryOptions(ca_cert=str(ca)))
    seen = []

    def send_raw(method, url, **kwargs):
        seen.append(kwargs.get('verify'))
        if kwargs.get('verify') is True:
            raise _requests.exceptions.SSLError('certificate verify failed')
        return 'response'

    client._send_raw = send_raw
    assert client._send_elsewhere('GET', 'https://storage.example/blob', {}, None, True) == 'response'
    assert seen == [True, str(ca)]
    seen[:] = []
    client.session.verify = False  # validate_certs: false stays false everywhere
    client._send_elsewhere('GET', 'https://storage.example/blob', {}, None, True)
    assert seen == [None]


# -- credentials only over TLS and only to their origin -----------------------------------------------

def test_blob_redirect_to_an_origin_asking_for_credentials_says_withheld(fake):
    reg = fake(auth='bearer')
    digest = add_blob(reg, 'a/b', b'hello world')
    reg.faults['redirect_blobs'] = True
    reg.faults['storage_wants_auth'] = True
    client = make_client(reg, creds=Creds('alice', 'secret'))
    with pytest.raises(CredentialsWithheldError) as info:
        client.get_blob_bytes('a/b', digest)
    assert reg.storage_auth_headers == [None]
    assert info.value.msg == ('unauthorized: registry %s redirected blob %s in repository a/b to http://localhost:%d/storage/%s, '
                              'another origin, which asks for credentials; they were withheld from it, not rejected (credentials '
                              'only go to the registry itself) (UNAUTHORIZED: authentication required)'
                              % (reg.host, digest, reg.port, digest))
    assert 'rejected the credentials' not in info.value.msg


def test_https_registry_with_http_realm_sends_no_credentials(fake, tls_fake, certificate):
    token_server = fake(auth='bearer')
    tls_fake.auth = 'bearer'
    tls_fake.faults['realm'] = 'http://%s/token' % token_server.host
    client = make_client(tls_fake, creds=Creds('alice', 'secret'), insecure=False, ca_cert=certificate[0])
    with pytest.raises(CleartextRefusedError) as info:
        client.get_manifest('a/b', 'v1')
    assert token_server.token_requests == [] and token_server.requests == []
    assert 'http://%s/token' % token_server.host in info.value.msg and 'insecure: true or registries.conf' in info.value.msg
    # Marked insecure but answering https: still no credentials over http.
    with pytest.raises(CleartextRefusedError):
        make_client(tls_fake, creds=Creds('alice', 'secret'), insecure=True).verify_login('alice', 'secret')
    assert token_server.token_requests == []


def test_verify_login_rejection_does_not_send_the_user_to_registry_login(fake):
    for auth in ('basic', 'bearer'):
        reg = fake(auth=auth)
        with pytest.raises(AuthenticationError) as info:
            make_client(reg).verify_login('alice', 'bad-password')
        assert info.value.msg == ('unauthorized: the registry %s rejected the credentials for user alice; check the username and '
                                  'password given to registry_login' % reg.host)


def test_short_lived_token_is_reused_within_its_life(fake):
    reg = fake(auth='bearer', anonymous_pull=True)
    reg.faults['token_expires_in'] = 4
    raw, blobs = make_manifest()
    reg.add_image('a/b', 'v1', raw, blobs)
    client = make_client(reg)
    for dummy in range(5):
        client.head_manifest('a/b', 'v1')
    assert len(reg.token_requests) == 1


# -- options checked before the first request ---------------------------------------------------------

@pytest.mark.parametrize('options, message', [
    (dict(ca_cert='/nonexistent/ca.pem'), 'ca_cert /nonexistent/ca.pem does not exist; give the path of a PEM file on the host '
                                          'the task runs on'),
    (dict(client_cert='/nonexistent/c.pem'), 'client_cert /nonexistent/c.pem does not exist'),
    (dict(client_cert='DIR', client_key='DIR/k'), 'client_cert DIR is not a file; give the path of a PEM file'),
    (dict(client_key='FILE'), 'client_key is set without client_cert; pass the client certificate too'),
    (dict(timeout=-1), 'timeout must be more than 0 and at most 86400 seconds, got -1'),
    (dict(timeout=0), 'timeout must be more than 0 and at most 86400 seconds, got 0'),
    (dict(timeout=float('nan')), 'timeout must be more than 0 and at most 86400 seconds, got nan'),
    (dict(timeout=1e300), 'timeout must be more than 0 and at most 86400 seconds, got 1e+300'),
    (dict(timeout=10 ** 400), 'timeout must be more than 0 and at most 86400 seconds'),
    (dict(timeout='soon'), "timeout must be a number of seconds, got 'soon'"),
])
def test_options_are_checked_before_the_first_request(fake, tmp_path, options, message):
    reg = fake()
    (tmp_path / 'k').write_text('x')
    options = dict((k, v.replace('DIR', str(tmp_path)).replace('FILE', str(tmp_path / 'k')) if isinstance(v, str) else v)
                   for k, v in options.items())
    with pytest.raises(ConfigError) as info:
        RegistryClient(reg.host, RegistryOptions(insecure=True, **options), credentials=lambda r, p: None)
    assert info.value.msg.startswith(message.replace('DIR', str(tmp_path)))
    assert reg.requests == []


def test_timeout_option_zero_is_not_turned_into_the_default():
    assert RegistryOptions.from_params({'timeout': 0}).timeout == 0
    assert RegistryOptions.from_params({}).timeout == 30.0


def test_ca_cert_that_vanishes_after_the_check_is_a_config_error(fake, tls_fake, certificate, tmp_path):
    ca = tmp_path / 'ca.pem'
    shutil.copy(certificate[0], str(ca))
    client = make_client(tls_fake, insecure=False, ca_cert=str(ca))
    ca.unlink()
    with pytest.raises(ConfigError) as info:
        client.ping()
    assert info.value.msg.startswith('cannot use the TLS files for registry %s: ' % tls_fake.host)
    assert str(ca) in info.value.msg and info.value.msg.endswith('check ca_cert, client_cert and client_key')


# -- every exception requests/urllib3/http.client/ssl can raise ends as a typed error -----------------

class _Tellable(object):
    length_remaining = 0

    def tell(self):
        return 0


def _instances():
    """One instance of every exception class of requests, urllib3 and http.client, plus the stdlib ones a request
    raises from underneath (a CA file that vanished, a timeout requests refuses, a header that does not encode)."""
    import http.client
    import inspect
    import requests.exceptions
    import urllib3.exceptions
    made = []
    for module in (requests.exceptions, urllib3.exceptions, http.client):
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if not issubclass(cls, BaseException) or issubclass(cls, Warning) or cls.__module__ != module.__name__:
                continue
            # A header error quotes the header (maybe a token); other texts may quote a URL, whose query is not shown.
            text = 'header value: Bearer zq-secret-9' if name == 'InvalidHeader' else 'boom'
            for args in ((), (text,), (None, text), (None, 'http://x/?_state=zq-secret-9', text),
                         (None, None, text), (text, 'doc', 0), (_Tellable(), b'zz'), (5, 10)):
                try:
                    exc = cls(*args)
                    str(exc)
                except Exception:  # pylint: disable=broad-except
                    continue
                made.append(pytest.param(exc, id='%s.%s' % (module.__name__, name)))
                break
            else:
                made.append(pytest.param(None, id='%s.%s-cannot-instantiate' % (module.__name__, name)))
    verify = ssl.SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed')
    verify.verify_code, verify.verify_message = 10, 'certificate has expired'
    for exc in (OSError('Could not find a suitable TLS CA certificate bundle, invalid path: /gone/ca.pem'),
                ValueError('Attempted to set connect timeout to -1.0, but the timeout cannot be set to a value less than or '
                           'equal to 0.'),
                UnicodeEncodeError('latin-1', 'Bearer zq-secret-9\u2603', 18, 19, 'ordinal not in range(256)'),
                ssl.SSLError(1, '[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)'),
                verify, ConnectionResetError(104, 'Connection reset by peer'), socket.timeout('timed out'),
                socket.gaierror(-2, 'Name or service not known'), RecursionError('deep')):
        made.append(pytest.param(exc, id=type(exc).__name__))
    return made


def _raising(client, exc, when):
    original = client.session.request

    def request(method, url, **kwargs):
        if when(url):
            raise exc
        return original(method, url, **kwargs)

    client.session.request = request


@pytest.mark.parametrize('exc', _instances())
@pytest.mark.parametrize('where', ['registry', 'token server'])
def test_every_transport_exception_becomes_a_typed_one_line_error(fake, exc, where):
    assert exc is not None, 'a new exception class that the test cannot build: add arguments for it to _instances()'
    if isinstance(exc, RecursionError):
        pytest.skip('not a transport error: the guarded JSON parser owns it')
    reg = fake(auth='bearer', anonymous_pull=True)
    client = make_client(reg, retries=1)
    _raising(client, exc, (lambda url: '/token' not in url) if where == 'registry' else (lambda url: '/token' in url))
    if where == 'token server':
        client.ping()  # learns the challenge; the next request needs a token
    with pytest.raises(PodkitError) as info:
        client.get_manifest('a/b', 'v1')
    msg = info.value.msg
    assert msg and '\n' not in msg and '\r' not in msg and len(msg) < 700, msg
    assert 'zq-secret-9' not in msg + repr(info.value.details), msg
    assert 'Traceback' not in msg
    if where == 'token server':
        assert 'token server http://%s/token' % reg.host in msg, msg
    else:
        assert 'registry %s' % reg.host in msg, msg
