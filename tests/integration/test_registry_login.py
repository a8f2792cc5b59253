"""registry_login against real registries: TLS + htpasswd Basic, Bearer tokens, plain http."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import datetime
import json
import os
import stat

import pytest

import pki
from registry_server import free_port, write_authfile
from tools import secret_scan, skopeo_inspect
from images import push


def _no_traceback(run):
    assert 'Traceback' not in json.dumps(run.result)
    assert 'Traceback' not in run.stderr


def _tls_args(registry, auth_file, **extra):
    args = dict(registry=registry.host, username=registry.username, password=registry.password,
                auth_file=str(auth_file), ca_cert=registry.ca_cert)
    args.update(extra)
    return args


@pytest.mark.parametrize('which', ['registry_tls_basic', 'registry_token'])
def test_login_four_steps(request, run_module, tmp_path, which):
    registry = request.getfixturevalue(which)
    auth_file = tmp_path / 'containers' / 'auth.json'
    args = _tls_args(registry, auth_file)

    check = run_module('registry_login', args, check=True, diff=True)
    assert check['changed'] is True, check
    assert check['diff']['before']['logged_in'] is False
    assert check['diff']['after'] == dict(check['diff']['before'], logged_in=True, username=registry.username)
    assert not auth_file.exists(), 'check mode wrote the auth file'

    apply = run_module('registry_login', args, diff=True)
    assert apply['changed'] is True, apply
    assert apply['auth_scheme'] == ('basic' if which == 'registry_tls_basic' else 'bearer')
    assert apply['username'] == registry.username
    assert stat.S_IMODE(os.stat(str(auth_file)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(auth_file.parent)).st_mode) == 0o700
    stored = json.loads(auth_file.read_text())
    expected = base64.b64encode(('%s:%s' % (registry.username, registry.password)).encode()).decode()
    assert stored == {'auths': {registry.host: {'auth': expected}}}

    again = run_module('registry_login', args, check=True, diff=True)
    assert again['changed'] is False, again
    assert again['diff']['before'] == again['diff']['after']
    last = run_module('registry_login', args)
    assert last['changed'] is False, last

    for run in (check, apply, again, last):
        secret_scan(run, [registry.password])


def test_login_file_is_read_by_skopeo_and_podman(registry_tls_basic, images, run_module, tmp_path):
    """What we write is what podman and skopeo read."""
    reg = registry_tls_basic
    push(images.base, reg, 'login/base:1')
    auth_file = tmp_path / 'auth.json'
    assert run_module('registry_login', _tls_args(reg, auth_file))['changed'] is True
    inspected = skopeo_inspect('%s/login/base:1' % reg.host, tls_verify=True, authfile=auth_file, cert_dir=reg.cert_dir)
    assert inspected['Name'] == '%s/login/base' % reg.host


def test_login_keeps_other_entries_and_password_change_diff(registry_tls_basic, run_module, tmp_path):
    reg = registry_tls_basic
    auth_file = tmp_path / 'auth.json'
    auth_file.write_text(json.dumps({
        'auths': {'other.example:5000': {'auth': base64.b64encode(b'x:y').decode()},
                  reg.host: {'auth': base64.b64encode(('%s:old-password' % reg.username).encode()).decode()}},
        'credHelpers': {'ecr.example': 'ecr-login'},
    }))
    run = run_module('registry_login', _tls_args(reg, auth_file), diff=True)
    assert run['changed'] is True, run
    # The diff says the password changes, never what it was or is.
    assert run['diff']['before']['password'] == 'stored' and run['diff']['after']['password'] == 'replaced'
    secret_scan(run, [reg.password, 'old-password'])
    data = json.loads(auth_file.read_text())
    assert data['credHelpers'] == {'ecr.example': 'ecr-login'}
    assert 'other.example:5000' in data['auths']


@pytest.mark.parametrize('which', ['registry_tls_basic', 'registry_token'])
def test_wrong_password_fails_and_leaves_file_untouched(request, run_module, tmp_path, which):
    registry = request.getfixturevalue(which)
    auth_file = tmp_path / 'auth.json'
    auth_file.write_text('{"auths": {}}')
    before = auth_file.read_bytes()
    run = run_module('registry_login', _tls_args(registry, auth_file, password='not-the-password'))
    assert run.get('failed') is True, run
    # Says what to do, and not "log in with registry_login": that is the task that failed.
    assert run['msg'] == ('unauthorized: the registry %s rejected the credentials for user %s; check the username and password '
                          'given to registry_login' % (registry.host, registry.username))
    assert auth_file.read_bytes() == before
    _no_traceback(run)
    secret_scan(run, ['not-the-password'])


def test_logout_four_steps(registry_tls_basic, run_module, tmp_path):
    reg = registry_tls_basic
    auth_file = tmp_path / 'auth.json'
    assert run_module('registry_login', _tls_args(reg, auth_file))['changed'] is True
    args = dict(registry=reg.host, auth_file=str(auth_file), state='absent')
    check = run_module('registry_login', args, check=True, diff=True)
    assert check['changed'] is True and check['diff']['after']['logged_in'] is False
    assert reg.host in json.loads(auth_file.read_text())['auths']
    apply = run_module('registry_login', args)
    assert apply['changed'] is True
    assert reg.host not in json.loads(auth_file.read_text())['auths']
    assert run_module('registry_login', args, check=True)['changed'] is False
    assert run_module('registry_login', args)['changed'] is False


def test_corrupt_auth_file(registry_tls_basic, run_module, tmp_path):
    reg = registry_tls_basic
    auth_file = tmp_path / 'auth.json'
    auth_file.write_text('{"auths": {"a": ')
    run = run_module('registry_login', _tls_args(reg, auth_file))
    assert run.get('failed') is True
    assert str(auth_file) in run['msg'] and 'not valid JSON' in run['msg']
    assert auth_file.read_text() == '{"auths": {"a": '
    _no_traceback(run)


@pytest.mark.parametrize('entries,expected', [
    ('"%(host)s": "dXNlcjpwdw=="', "the entry for '%(host)s' is not a JSON object"),
    ('"%(host)s": {"auth": "not base64 at all!"}', "is not base64 of 'username:password'"),
    ('"other.example": ["x"], "%(host)s": {"auth": "dXNlcjpwdw=="}', "the entry for 'other.example' is not a JSON object"),
    ('"other.example": {"auth": 5}', "'auth' of the entry for 'other.example' is not a string"),
])
@pytest.mark.parametrize('state', ['present', 'absent'])
def test_malformed_entry_fails_and_file_stays_byte_identical(registry_tls_basic, run_module, tmp_path, entries, expected, state):
    reg = registry_tls_basic
    auth_file = tmp_path / 'auth.json'
    # Unusual spacing and key order: a rewrite would show even if the content stayed the same.
    original = ('{ "auths" : { %s },\n  "x-keep":1 }' % (entries % {'host': reg.host})).encode()
    auth_file.write_bytes(original)
    args = _tls_args(reg, auth_file) if state == 'present' else dict(registry=reg.host, auth_file=str(auth_file), state='absent')
    for check in (True, False):
        run = run_module('registry_login', args, check=check)
        assert run.get('failed') is True, run
        assert str(auth_file) in run['msg'] and (expected % {'host': reg.host}) in run['msg'], run
        assert auth_file.read_bytes() == original
        assert 'dXNlcjpwdw==' not in json.dumps(run.result)
        _no_traceback(run)
        secret_scan(run, [reg.password])


def test_plain_http_needs_insecure(registry_http, run_module, tmp_path):
    auth_file = tmp_path / 'auth.json'
    args = dict(registry=registry_http.host, username='someone', password='some-password', auth_file=str(auth_file))
    run = run_module('registry_login', args)
    assert run.get('failed') is True, run
    assert 'insecure' in run['msg'] and registry_http.host in run['msg']
    assert not auth_file.exists()
    _no_traceback(run)
    ok = run_module('registry_login', dict(args, insecure=True))
    assert ok['changed'] is True and ok['auth_scheme'] == 'none'


def test_self_signed_without_ca_cert(registry_tls_basic, run_module, tmp_path):
    reg = registry_tls_basic
    run = run_module('registry_login', dict(_tls_args(reg, tmp_path / 'auth.json'), ca_cert=None))
    assert run.get('failed') is True
    assert 'certificate' in run['msg'] and 'ca_cert' in run['msg']
    _no_traceback(run)


def test_unreachable_registry(run_module, tmp_path):
    host = '127.0.0.1:%d' % free_port()
    run = run_module('registry_login', dict(registry=host, username='u', password='p4ssw0rd-x', auth_file=str(tmp_path / 'a.json')))
    assert run.get('failed') is True
    assert 'cannot connect to registry %s' % host in run['msg']
    _no_traceback(run)


def test_token_server_garbage(registry_token, run_module, tmp_path):
    with registry_token.token_server.misbehave('garbage'):
        run = run_module('registry_login', _tls_args(registry_token, tmp_path / 'auth.json'))
    assert run.get('failed') is True
    assert 'token server' in run['msg']
    assert not (tmp_path / 'auth.json').exists()
    _no_traceback(run)
    secret_scan(run, [registry_token.password])


@pytest.mark.parametrize('registry', ['', 'Bad Host', 'https://', 'host/UPPER/case'])
def test_malformed_registry(run_module, tmp_path, registry):
    run = run_module('registry_login', dict(registry=registry, username='u', password='p4ssw0rd-x', auth_file=str(tmp_path / 'a.json')))
    assert run.get('failed') is True
    assert 'invalid registry' in run['msg']
    _no_traceback(run)


def test_password_nowhere_at_vvv(registry_tls_basic, run_module, tmp_path):
    reg = registry_tls_basic
    run = run_module('registry_login', _tls_args(reg, tmp_path / 'auth.json'), verbosity=3)
    assert run.rc == 0, run.stdout
    secret_scan(run, [reg.password])


def test_https_registry_with_http_token_realm_gets_no_credentials(start_registry, run_module, tmp_path):
    """The registry is https, its auth.token.realm plain http: neither registry_login nor image_info sends the password
    (from the task or from the auth file) there."""
    reg = start_registry(auth='token', tls=True, token_tls=False)
    assert reg.realm.startswith('http://') and reg.url.startswith('https://')
    auth_file = tmp_path / 'auth.json'
    login = run_module('registry_login', _tls_args(reg, auth_file))
    assert login.get('failed') is True, login
    assert login['msg'] == ('the registry %s announces the token server %s, which is plain http: not sending the credentials of '
                            'user %s there in cleartext; have the registry announce an https token realm, or, only for a '
                            'plain-http registry, mark it insecure (insecure: true or registries.conf)'
                            % (reg.host, reg.realm, reg.username))
    assert not auth_file.exists()
    # insecure: true does not make an https registry's http realm acceptable.
    assert run_module('registry_login', _tls_args(reg, auth_file, insecure=True)).get('failed') is True
    write_authfile(auth_file, {reg.host: (reg.username, reg.password)})
    for args in (dict(username=reg.username, password=reg.password), dict(auth_file=str(auth_file))):
        info = run_module('image_info', dict(args, name='%s/private/app:1' % reg.host, ca_cert=reg.ca_cert))
        assert info.get('failed') is True and 'not sending the credentials of user %s' % reg.username in info['msg'], info
        _no_traceback(info)
        secret_scan(info, [reg.password])
    # Anonymous token requests carry nothing secret and still go to the http realm.
    anonymous = run_module('image_info', dict(name='%s/public/nothing:1' % reg.host, ca_cert=reg.ca_cert,
                                              auth_file=str(tmp_path / 'none.json')))
    assert anonymous.get('failed') is True and 'not found' in anonymous['msg'], anonymous
    seen = reg.token_server.requests_seen
    assert seen, 'the token server was never asked: the test proves nothing'
    assert all(not entry['basic'] for entry in seen), seen
    assert all(entry['method'] == 'GET' and entry.get('account') is None for entry in seen), seen
    _no_traceback(login)


def _cert(ca, tmp_path, kind):
    now = datetime.datetime.now(datetime.timezone.utc)
    if kind == 'expired':
        return ca.issue('expired', valid_from=now - datetime.timedelta(days=3), valid_until=now - datetime.timedelta(days=1))
    if kind == 'not_yet_valid':
        return ca.issue('future', valid_from=now + datetime.timedelta(days=1), valid_until=now + datetime.timedelta(days=3))
    if kind == 'wrong_host':
        return ca.issue('elsewhere', dns_names=('registry.elsewhere.example',), ip_addresses=('192.0.2.7',))
    return pki.CA(str(tmp_path / 'other-ca'), name='some other CA').issue('unknown-ca')


@pytest.mark.parametrize('kind, with_ca_cert, expected', [
    ('expired', True, 'the TLS certificate of registry {host} has expired (certificate has expired); renew the certificate, or '
                      'check the clock of this host'),
    ('not_yet_valid', True, 'the TLS certificate of registry {host} is not yet valid (certificate is not yet valid); check the '
                            'clock of this host and the start date of the certificate'),
    ('wrong_host', True, "certificate of registry {host} does not match its host name: IP address mismatch, certificate is not "
                         "valid for '127.0.0.1'.; use a name the certificate lists (localhost and 127.0.0.1 differ)"),
    ('unknown_ca', True, 'certificate verify failed for registry {host}: it is not issued by a CA in ca_cert {ca_cert} (unable '
                         'to get local issuer certificate); give ca_cert the CA that issued it'),
    ('unknown_ca', False, 'certificate verify failed for registry {host}: it is issued by a CA this host does not trust (unable '
                          'to get local issuer certificate); pass ca_cert (the CA bundle) or validate_certs: false'),
])
def test_tls_failures_name_their_cause(start_registry, test_ca, run_module, tmp_path, kind, with_ca_cert, expected):
    leaf = _cert(test_ca, tmp_path, kind)
    reg = start_registry(auth='basic', tls=True, ca=test_ca,
                         extra_config={'http': {'tls': {'certificate': leaf.cert_path, 'key': leaf.key_path}}})
    args = _tls_args(reg, tmp_path / 'auth.json')
    if not with_ca_cert:
        args.pop('ca_cert')
    run = run_module('registry_login', args)
    assert run.get('failed') is True, run
    assert run['msg'] == expected.format(host=reg.host, ca_cert=reg.ca_cert)
    # The fix for an expired or misnamed certificate is not another CA bundle.
    assert ('pass ca_cert' in run['msg']) == (not with_ca_cert)
    assert not (tmp_path / 'auth.json').exists()
    _no_traceback(run)
    secret_scan(run, [reg.password])


@pytest.mark.parametrize('args, fragment', [
    (dict(ca_cert='/nonexistent/ca.pem'), 'ca_cert /nonexistent/ca.pem does not exist'),
    (dict(client_cert='/nonexistent/c.pem', client_key='/nonexistent/k.pem'), 'client_cert /nonexistent/c.pem does not exist'),
    (dict(timeout=-1), 'timeout must be more than 0'),
])
def test_bad_transport_options_fail_before_any_request(registry_tls_basic, run_module, tmp_path, args, fragment):
    reg = registry_tls_basic
    run = run_module('registry_login', dict(_tls_args(reg, tmp_path / 'auth.json'), **args))
    assert run.get('failed') is True and fragment in run['msg'], run
    assert '\n' not in run['msg']
    _no_traceback(run)
