"""The integration test infrastructure itself: registries, token server, images, podman environment, helpers."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import json
import os
import pathlib

import jwt
import pytest
import requests

from images import image_inspect, image_layers, push, push_manifest_list, random_layer_image
from registry_server import free_port, write_authfile
from tools import CommandError, podman, secret_scan, skopeo_inspect

V2S2 = 'application/vnd.docker.distribution.manifest.v2+json'
OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'
OCI_INDEX = 'application/vnd.oci.image.index.v1+json'


def parse_challenge(header):
    scheme, _sep, rest = header.partition(' ')
    params = {}
    for part in rest.split(','):
        key, _sep, value = part.strip().partition('=')
        params[key] = value.strip('"')
    return scheme, params


# --- plain registry -------------------------------------------------------------------------------------------

def test_http_registry_catalog_lists_pushed_repository(registry_http, images):
    assert registry_http.host.startswith('127.0.0.1:') and registry_http.url == 'http://' + registry_http.host
    pushed = push(images.base, registry_http, 'infra/catalog:1')
    resp = registry_http.get('/v2/_catalog')
    assert resp.status_code == 200
    assert 'infra/catalog' in resp.json()['repositories']
    assert registry_http.get('/v2/infra/catalog/tags/list').json()['tags'] == ['1']
    assert pushed.digest.startswith('sha256:')
    head = requests.head(registry_http.url + '/v2/infra/catalog/manifests/1', headers={'Accept': V2S2}, timeout=10)
    assert head.headers['Docker-Content-Digest'] == pushed.digest
    assert 'infra/catalog' in registry_http.repositories()
    assert os.path.isdir(os.path.join(registry_http.root, 'docker', 'registry', 'v2', 'blobs'))


def test_http_registry_allows_delete(registry_http, images):
    pushed = push(images.base, registry_http, 'infra/delete:1')
    resp = requests.delete(registry_http.url + '/v2/infra/delete/manifests/' + pushed.digest, timeout=10)
    assert resp.status_code == 202
    assert registry_http.get('/v2/infra/delete/manifests/1', headers={'Accept': V2S2}).status_code == 404


# --- TLS + Basic ------------------------------------------------------------------------------------------------

def test_tls_basic_registry_challenges_and_accepts_htpasswd_user(registry_tls_basic):
    reg = registry_tls_basic
    assert reg.url == 'https://' + reg.host and os.path.isfile(reg.ca_cert)
    anonymous = requests.get(reg.url + '/v2/', verify=reg.ca_cert, timeout=10)
    assert anonymous.status_code == 401
    scheme, params = parse_challenge(anonymous.headers['WWW-Authenticate'])
    assert scheme == 'Basic' and params['realm']
    assert requests.get(reg.url + '/v2/', verify=reg.ca_cert, auth=(reg.username, 'wrong'), timeout=10).status_code == 401
    assert requests.get(reg.url + '/v2/', verify=reg.ca_cert, auth=(reg.username, reg.password), timeout=10).status_code == 200
    # the certificate also names localhost, and is not trusted without the test CA
    assert requests.get('https://%s/v2/' % reg.localhost, verify=reg.ca_cert, auth=reg.creds(), timeout=10).status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(reg.url + '/v2/', timeout=10)


def test_tls_basic_push_and_inspect_with_authfile(registry_tls_basic, images, tmp_path):
    reg = registry_tls_basic
    pushed = push(images.app, reg, 'infra/basic:1')
    authfile = reg.write_authfile(tmp_path / 'auth.json')
    assert oct(os.stat(authfile).st_mode & 0o777) == '0o600'
    info = skopeo_inspect(pushed.ref, tls_verify=True, cert_dir=reg.cert_dir, authfile=authfile)
    assert info['Digest'] == pushed.digest
    with pytest.raises(CommandError):
        skopeo_inspect(pushed.ref, tls_verify=True, cert_dir=reg.cert_dir)
    with pytest.raises(CommandError):
        push(images.base, reg, 'infra/basic:anon', creds=False)


# --- Bearer tokens --------------------------------------------------------------------------------------------

def test_token_registry_bearer_challenge_and_token(registry_token):
    reg = registry_token
    resp = reg.get('/v2/')
    assert resp.status_code == 401
    scheme, params = parse_challenge(resp.headers['WWW-Authenticate'])
    assert scheme == 'Bearer'
    assert params['realm'] == reg.realm and params['service'] == reg.service
    token = reg.bearer_token(creds=reg.creds())
    assert reg.get('/v2/', headers={'Authorization': 'Bearer ' + token}).status_code == 200
    header = jwt.get_unverified_header(token)
    assert header['alg'] == 'ES256' and len(header['x5c']) == 2
    claims = jwt.decode(token, options={'verify_signature': False})
    assert claims['iss'] == 'podkit-token-issuer' and claims['aud'] == reg.service and claims['sub'] == reg.username
    assert {'exp', 'nbf', 'iat', 'jti', 'access'} <= set(claims)
    bad = requests.get(reg.realm, params={'service': reg.service}, auth=(reg.username, 'nope'), verify=reg.ca_cert, timeout=10)
    assert bad.status_code == 401


def test_token_scopes_by_user(registry_token):
    reg = registry_token
    scope = 'repository:infra/scoped:pull,push'
    rw = jwt.decode(reg.bearer_token([scope], reg.creds()), options={'verify_signature': False})
    ro = jwt.decode(reg.bearer_token([scope], reg.creds(readonly=True)), options={'verify_signature': False})
    anon = jwt.decode(reg.bearer_token([scope]), options={'verify_signature': False})
    pub = jwt.decode(reg.bearer_token(['repository:public/x:pull,push']), options={'verify_signature': False})
    assert rw['access'] == [{'type': 'repository', 'name': 'infra/scoped', 'actions': ['pull', 'push']}]
    assert ro['access'][0]['actions'] == ['pull']
    assert anon['access'][0]['actions'] == [] and anon['sub'] == ''
    assert pub['access'][0]['actions'] == ['pull']
    catalog = reg.bearer_token(['registry:catalog:*'], reg.creds())
    assert reg.get('/v2/_catalog', headers={'Authorization': 'Bearer ' + catalog}).status_code == 200


def test_token_registry_push_pull_and_permissions(registry_token, images, tmp_path):
    reg = registry_token
    pushed = push(images.app, reg, 'infra/private:1')
    ro_auth = reg.write_authfile(tmp_path / 'ro.json', readonly=True)
    info = skopeo_inspect(pushed.ref, tls_verify=True, cert_dir=reg.cert_dir, authfile=ro_auth)
    assert info['Digest'] == pushed.digest and info['Labels']['org.example.app'] == 'podkit-app'
    with pytest.raises(CommandError) as denied:
        push(images.base, reg, 'infra/private:ro', creds=reg.creds(readonly=True))
    assert 'denied' in denied.value.stderr.lower() or 'unauthorized' in denied.value.stderr.lower()
    with pytest.raises(CommandError):
        skopeo_inspect(pushed.ref, tls_verify=True, cert_dir=reg.cert_dir)  # anonymous, not under public/
    public = push(images.base, reg, 'public/base:1')
    assert skopeo_inspect(public.ref, tls_verify=True, cert_dir=reg.cert_dir)['Digest'] == public.digest
    with pytest.raises(CommandError):
        push(images.base, reg, 'public/base:anon', creds=False)
    assert 'infra/private' in reg.repositories() and 'public/base' in reg.repositories()
    assert any(e['method'] == 'GET' and e['status'] == 200 for e in reg.token_server.requests_seen)


def test_token_refresh_token_grants(registry_token):
    reg = registry_token
    ts = reg.token_server
    first = requests.get(reg.realm, params={'service': reg.service, 'offline_token': 'true', 'client_id': 'podkit-tests'},
                         auth=reg.creds(), verify=reg.ca_cert, timeout=10).json()
    refresh = first['refresh_token']
    resp = requests.post(reg.realm, data={'grant_type': 'refresh_token', 'refresh_token': refresh, 'service': reg.service,
                                          'client_id': 'podkit-tests', 'scope': 'registry:catalog:*'},
                         verify=reg.ca_cert, timeout=10)
    assert resp.status_code == 200
    body = resp.json()
    assert body['refresh_token'] == refresh and body['expires_in'] > 0
    assert reg.get('/v2/_catalog', headers={'Authorization': 'Bearer ' + body['access_token']}).status_code == 200
    assert requests.post(reg.realm, data={'grant_type': 'refresh_token', 'refresh_token': 'rt-bogus', 'client_id': 'x',
                                          'service': reg.service}, verify=reg.ca_cert, timeout=10).status_code == 400
    assert requests.post(reg.realm, data={'grant_type': 'refresh_token', 'refresh_token': refresh, 'service': reg.service},
                         verify=reg.ca_cert, timeout=10).status_code == 400  # client_id is required
    pw = requests.post(reg.realm, data={'grant_type': 'password', 'username': reg.username, 'password': reg.password,
                                        'client_id': 'podkit-tests', 'access_type': 'offline', 'service': reg.service},
                       verify=reg.ca_cert, timeout=10).json()
    assert pw['refresh_token'].startswith('rt-') and pw['access_token']
    secret_scan(json.dumps(ts.requests_seen), [reg.password, refresh])


def test_token_server_misbehaves_and_recovers(registry_token):
    reg = registry_token
    ts = reg.token_server
    with ts.misbehave('garbage'):
        resp = requests.get(reg.realm, params={'service': reg.service}, auth=reg.creds(), verify=reg.ca_cert, timeout=10)
        assert resp.status_code == 200
        with pytest.raises(ValueError):
            resp.json()
    with ts.misbehave('error'):
        assert requests.get(reg.realm, auth=reg.creds(), verify=reg.ca_cert, timeout=10).status_code == 500
    with ts.misbehave('expired'):
        token = reg.bearer_token(creds=reg.creds())
        assert reg.get('/v2/', headers={'Authorization': 'Bearer ' + token}).status_code == 401
    assert ts.mode == 'normal'
    token = reg.bearer_token(creds=reg.creds())
    assert reg.get('/v2/', headers={'Authorization': 'Bearer ' + token}).status_code == 200
    with pytest.raises(ValueError):
        with ts.misbehave('no-such-mode'):
            pass


# --- images ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('fmt, media_type', [('v2s2', V2S2), ('oci', OCI_MANIFEST)])
def test_push_formats_are_inspectable(registry_http, images, fmt, media_type):
    pushed = push(images.app, registry_http, 'infra/formats:%s' % fmt, format=fmt)
    raw = skopeo_inspect(pushed.ref, raw=True)
    assert raw.get('mediaType', OCI_MANIFEST) == media_type
    assert len(raw['layers']) == images.expected['layers'] == image_layers(images.app)
    info = skopeo_inspect(pushed.ref)
    assert info['Digest'] == pushed.digest
    for key, value in images.expected['labels'].items():
        assert info['Labels'][key] == value
    assert 'APP_MODE=test' in info['Env'] and 'FOO=bar' in info['Env']
    config = skopeo_inspect(pushed.ref, config=True)['config']
    assert config['User'] == 'app' and config['WorkingDir'] == '/data'
    assert config['Entrypoint'] == images.expected['entrypoint'] and config['Cmd'] == images.expected['cmd']
    assert '8080/tcp' in config['ExposedPorts']
    by_digest = skopeo_inspect(pushed.ref_by_digest)
    assert by_digest['Digest'] == pushed.digest


@pytest.mark.parametrize('fmt, media_type', [('v2s2', DOCKER_LIST), ('oci', OCI_INDEX)])
def test_multiarch_index_has_both_platforms(registry_http, images, fmt, media_type):
    pushed = push_manifest_list(images.manifest_list, registry_http, 'infra/multiarch:%s' % fmt, format=fmt)
    raw = skopeo_inspect(pushed.ref, raw=True)
    assert raw['mediaType'] == media_type
    platforms = sorted((m['platform']['os'], m['platform']['architecture'], m['platform'].get('variant', ''))
                       for m in raw['manifests'])
    assert platforms == [('linux', 'amd64', ''), ('linux', 'arm64', 'v8')]
    for entry in raw['manifests']:
        child = skopeo_inspect('%s/infra/multiarch@%s' % (registry_http.host, entry['digest']), raw=True)
        assert child['schemaVersion'] == 2 and len(child['layers']) == 1


def test_random_layer_image(images, registry_http):  # pylint: disable=unused-argument
    size = 3 * 1024 * 1024
    name = random_layer_image(size, seed=7, layers=3)
    assert random_layer_image(size, seed=7, layers=3) == name  # reused
    info = image_inspect(name)
    assert len(info['RootFS']['Layers']) == 4  # base + 3
    assert info['Size'] >= size
    pushed = push(name, registry_http, 'infra/random:1')
    raw = skopeo_inspect(pushed.ref, raw=True)
    # incompressible: every data layer stays about a MiB after gzip
    assert sorted(layer['size'] for layer in raw['layers'])[1:] > [size // 3 - 4096] * 3


# --- podman environment and helpers ---------------------------------------------------------------------------

def test_podman_env_runs_app_image_with_ulimits(podman_env, images):
    assert os.environ['CONTAINERS_CONF'] == podman_env.containers_conf
    out = podman('run', '--rm', '--entrypoint', '/bin/sh', images.app, '-c',
                 'ulimit -n; id -un; pwd; echo $FOO $APP_MODE; cat /etc/podkit-marker').stdout.split()
    assert out == ['1024', 'app', '/data', 'bar', 'test', 'base']


def test_registries_conf_helper_alias_and_insecure(podman_env, registry_http, images):
    pushed = push(images.base, registry_http, 'infra/alias:1')
    conf = podman_env.registries_conf('alias.conf', registries=[{'location': registry_http.host, 'insecure': True}],
                                      aliases={'podkit-alias': '%s/infra/alias' % registry_http.host})
    env = {'CONTAINERS_REGISTRIES_CONF': conf}
    try:
        out = podman('pull', '-q', 'podkit-alias:1', env=env).stdout.strip()
        assert out == image_inspect(images.base)['Id']
    finally:
        podman('rmi', pushed.ref, check=False)


def test_start_registry_factory_gives_fresh_registry(start_registry, tmp_path):
    reg = start_registry(tmp_path / 'fresh')
    assert reg.get('/v2/_catalog').json() == {'repositories': []}
    assert reg.auth is None and reg.insecure
    basic = start_registry(auth='basic')
    assert basic.tls and basic.get('/v2/').status_code == 401
    reg.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(reg.url + '/v2/', timeout=5)


def test_free_port_and_authfile(tmp_path):
    port = free_port()
    assert 1024 < port < 65536
    path = write_authfile(tmp_path / 'a.json', {'127.0.0.1:%d' % port: ('u', 'p4ssw0rd')})
    data = json.loads(pathlib.Path(path).read_text())
    assert base64.b64decode(data['auths']['127.0.0.1:%d' % port]['auth']) == b'u:p4ssw0rd'


def test_secret_scan_finds_plain_and_encoded_secrets(tmp_path):
    secret = 's3cr3t-value!'
    (tmp_path / 'clean.txt').write_text('nothing here')
    assert secret_scan([pathlib.Path(tmp_path), 'some text', {'k': 'v'}], [secret]) == 3
    (tmp_path / 'sub').mkdir()
    (tmp_path / 'sub' / 'leak.log').write_text('Authorization: Basic %s' % base64.b64encode(secret.encode()).decode())
    with pytest.raises(AssertionError) as found:
        secret_scan(pathlib.Path(tmp_path), secret)
    assert 'leak.log' in str(found.value) and secret not in str(found.value)
    with pytest.raises(AssertionError):
        secret_scan({'msg': 'url https://x/?p=s3cr3t-value%21'}, secret)
    with pytest.raises(AssertionError):
        secret_scan(b'...s3cr3t-value!...', [secret])
    with pytest.raises(ValueError):
        secret_scan('x', [''])


def test_run_module_fixture_is_the_runner(run_module):
    result = run_module('ansible.builtin.ping', {})
    assert result.rc == 0 and result['ping'] == 'pong'
