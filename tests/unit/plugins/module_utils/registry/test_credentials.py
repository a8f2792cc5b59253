# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import multiprocessing
import os
import stat

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.errors import CredentialsError
from ansible_collections.podkit.containers.plugins.module_utils.registry.credentials import (
    AuthFile,
    Credentials,
    auth_file_candidates,
    default_auth_file,
    key_candidates,
    lookup_credentials,
    normalize_key,
)


def b64(text):
    return base64.b64encode(text.encode('utf-8')).decode('ascii')


def write_json(path, data):
    path = str(path)
    if not os.path.isdir(os.path.dirname(path)):
        os.makedirs(os.path.dirname(path))
    with open(path, 'w') as handle:
        if isinstance(data, str):
            handle.write(data)
        else:
            json.dump(data, handle)
    return path


def read_json(path):
    with open(str(path)) as handle:
        return json.load(handle)


class FakeHelpers(object):
    """run_command stand-in: ``answers[(program, server)] = (rc, stdout, stderr)``."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, argv, data):
        self.calls.append((list(argv), data))
        return self.answers.get((argv[0], data.decode('utf-8')), (1, b'credentials not found in native keychain\n', b''))


# -- where the files are ---------------------------------------------------------------------

@pytest.mark.parametrize('kwargs, expected', [
    (dict(auth_file='/x/auth.json', env={'REGISTRY_AUTH_FILE': '/env.json', 'HOME': '/h'}), ['/x/auth.json']),
    (dict(env={'REGISTRY_AUTH_FILE': '/env.json', 'HOME': '/h'}), ['/env.json']),
    (dict(env={'XDG_RUNTIME_DIR': '/run/user/1000', 'HOME': '/h'}, uid=1000),
     ['/run/user/1000/containers/auth.json', '/h/.config/containers/auth.json', '/h/.docker/config.json']),
    (dict(env={'HOME': '/h'}, uid=1234),
     ['/run/containers/1234/auth.json', '/h/.config/containers/auth.json', '/h/.docker/config.json']),
])
def test_auth_file_candidates(kwargs, expected):
    assert auth_file_candidates(**kwargs) == expected
    assert default_auth_file(**kwargs) == expected[0]


@pytest.mark.parametrize('key, expected', [
    ('quay.io', 'quay.io'),
    ('quay.io/ns/repo', 'quay.io/ns/repo'),
    ('https://index.docker.io/v1/', 'docker.io'),
    ('index.docker.io', 'docker.io'),
    ('registry-1.docker.io', 'docker.io'),
    ('https://quay.io', 'quay.io'),
    ('http://localhost:5000/v2/', 'localhost:5000'),
    ('localhost:5000/', 'localhost:5000'),
])
def test_normalize_key(key, expected):
    assert normalize_key(key) == expected


def test_key_candidates():
    assert key_candidates('quay.io', 'a/b/c') == ['quay.io/a/b/c', 'quay.io/a/b', 'quay.io/a', 'quay.io']
    assert key_candidates('index.docker.io') == ['docker.io']


# -- lookup ----------------------------------------------------------------------------------

AUTHS = {
    'auths': {
        'quay.io': {'auth': b64('registry-user:registry-pass')},
        'quay.io/team': {'auth': b64('team-user:team-pass')},
        'quay.io/team/app': {'auth': b64('app-user:app-pass')},
        'token.example': {'identitytoken': 'refresh-token'},
        'localhost:5000': {'auth': b64('u:p:with:colons')},
    },
}


@pytest.mark.parametrize('registry, repository, username, password', [
    ('quay.io', None, 'registry-user', 'registry-pass'),
    ('quay.io', 'other/x', 'registry-user', 'registry-pass'),
    ('quay.io', 'team', 'team-user', 'team-pass'),
    ('quay.io', 'team/other', 'team-user', 'team-pass'),
    ('quay.io', 'team/app', 'app-user', 'app-pass'),
    ('quay.io', 'team/app/sub', 'app-user', 'app-pass'),
    ('quay.io', 'team/application', 'team-user', 'team-pass'),
    ('localhost:5000', 'x', 'u', 'p:with:colons'),
])
def test_lookup_precedence(tmp_path, registry, repository, username, password):
    path = write_json(tmp_path / 'auth.json', AUTHS)
    creds = lookup_credentials(registry, repository, auth_file=path)
    assert (creds.username, creds.password, creds.identity_token, creds.source) == (username, password, None, path)


def test_lookup_identity_token_and_missing(tmp_path):
    path = write_json(tmp_path / 'auth.json', AUTHS)
    creds = lookup_credentials('token.example', auth_file=path)
    assert creds.identity_token == 'refresh-token' and creds.password is None
    assert lookup_credentials('ghcr.io', 'a/b', auth_file=path) is None
    assert lookup_credentials('quay.io', auth_file=str(tmp_path / 'missing.json')) is None


def test_repr_hides_secrets():
    text = repr(Credentials('user', 'hunter2', 'tok-secret', '/a.json'))
    assert 'hunter2' not in text and 'tok-secret' not in text and 'user' in text


def test_search_order_over_files(tmp_path):
    env = {'XDG_RUNTIME_DIR': str(tmp_path / 'run'), 'HOME': str(tmp_path / 'home')}
    first, second, docker = auth_file_candidates(env=env)
    write_json(first, {'auths': {'quay.io': {'auth': b64('first:1')}}})
    write_json(second, {'auths': {'quay.io': {'auth': b64('second:2')}, 'ghcr.io': {'auth': b64('second:3')}}})
    write_json(docker, {'auths': {'https://index.docker.io/v1/': {'auth': b64('hub:4')}, 'ghcr.io': {'auth': b64('docker:5')}}})
    assert lookup_credentials('quay.io', env=env).username == 'first'
    assert lookup_credentials('ghcr.io', env=env).username == 'second'
    hub = lookup_credentials('docker.io', 'library/nginx', env=env)
    assert (hub.username, hub.password, hub.source) == ('hub', '4', docker)


@pytest.mark.parametrize('key', ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'https://registry-1.docker.io/v2/'])
def test_docker_hub_keys(tmp_path, key):
    path = write_json(tmp_path / 'config.json', {'auths': {key: {'auth': b64('hub:pw')}}})
    assert lookup_credentials('docker.io', 'library/nginx', auth_file=path).username == 'hub'
    assert lookup_credentials('index.docker.io', auth_file=path).username == 'hub'


def test_scheme_key_normalized(tmp_path):
    path = write_json(tmp_path / 'config.json', {'auths': {'https://quay.io': {'auth': b64('q:pw')}}})
    assert lookup_credentials('quay.io', 'a/b', auth_file=path).username == 'q'


def test_exact_key_beats_legacy_key(tmp_path):
    path = write_json(tmp_path / 'config.json', {'auths': {
        'https://index.docker.io/v1/': {'auth': b64('legacy:1')},
        'docker.io': {'auth': b64('modern:2')},
    }})
    assert lookup_credentials('docker.io', auth_file=path).username == 'modern'


def test_cred_helpers(tmp_path):
    path = write_json(tmp_path / 'config.json', {
        'auths': {'quay.io': {'auth': b64('file-user:file-pass')}, 'https://index.docker.io/v1/': {}},
        'credHelpers': {'quay.io': 'secretservice', 'ghcr.io': 'gh', 'tok.example': 'gh'},
        'credsStore': 'desktop',
    })
    fake = FakeHelpers({
        ('docker-credential-secretservice', 'quay.io'): (0, b'{"ServerURL": "quay.io", "Username": "helper-user", "Secret": "s3"}', b''),
        ('docker-credential-gh', 'tok.example'): (0, b'{"Username": "<token>", "Secret": "id-token"}', b''),
        ('docker-credential-desktop', 'https://index.docker.io/v1/'): (0, b'{"Username": "hub", "Secret": "hubpw"}', b''),
    })
    creds = lookup_credentials('quay.io', 'a/b', auth_file=path, run_command=fake)
    assert (creds.username, creds.password, creds.source) == ('helper-user', 's3', 'credential helper docker-credential-secretservice')
    assert fake.calls[0] == (['docker-credential-secretservice', 'get'], b'quay.io')
    token = lookup_credentials('tok.example', auth_file=path, run_command=fake)
    assert (token.username, token.password, token.identity_token) == (None, None, 'id-token')
    # the helper has nothing for ghcr.io: no credentials (the file's credsStore is not consulted for it)
    assert lookup_credentials('ghcr.io', auth_file=path, run_command=fake) is None
    # docker.io: the empty auths entry holds nothing, so the global credsStore answers
    hub = lookup_credentials('docker.io', auth_file=path, run_command=fake)
    assert (hub.username, hub.password) == ('hub', 'hubpw')


def test_cred_helper_failure_is_named_without_output(tmp_path):
    path = write_json(tmp_path / 'config.json', {'credHelpers': {'quay.io': 'broken'}})
    fake = FakeHelpers({('docker-credential-broken', 'quay.io'): (3, b'{"Secret": "leaked"}', b'dbus: no session\nSecret: leaked\n')})
    with pytest.raises(CredentialsError) as info:
        lookup_credentials('quay.io', auth_file=path, run_command=fake)
    msg = info.value.msg
    assert 'docker-credential-broken' in msg and 'quay.io' in msg and 'dbus: no session' in msg
    assert 'leaked' not in msg and 'leaked' not in repr(info.value.details)


def test_cred_helper_bad_json(tmp_path):
    path = write_json(tmp_path / 'config.json', {'credsStore': 'odd'})
    fake = FakeHelpers({('docker-credential-odd', 'quay.io'): (0, b'Secret=oops', b'')})
    with pytest.raises(CredentialsError) as info:
        lookup_credentials('quay.io', auth_file=path, run_command=fake)
    assert 'oops' not in info.value.msg and 'docker-credential-odd' in info.value.msg


def test_cred_helper_missing_program(tmp_path):
    path = write_json(tmp_path / 'config.json', {'credHelpers': {'quay.io': 'podkit-does-not-exist'}})
    with pytest.raises(CredentialsError) as info:
        lookup_credentials('quay.io', auth_file=path)  # the real subprocess runner
    assert 'docker-credential-podkit-does-not-exist' in info.value.msg


@pytest.mark.parametrize('content, fragment', [
    ('{"auths": {"quay.io": {"auth": "c2VjcmV0OnBhc3N3b3Jk"}\n\n', 'is not valid JSON at line 3'),
    ('{"auths": {"quay.io": {"auth": "c2VjcmV0OnBhc3N3b3Jk",}}}', 'is not valid JSON at line 1'),
    ('["c2VjcmV0OnBhc3N3b3Jk"]', 'is not valid: the document must be an object, not a list'),
    ('{"auths": ["c2VjcmV0OnBhc3N3b3Jk"]}', 'is not valid: $.auths must be an object, not a list'),
    ('{"credHelpers": {"quay.io": ["c2VjcmV0OnBhc3N3b3Jk"]}}', 'is not valid: $.credHelpers["quay.io"] must be a string'),
    ('{"auths": ' * 50000, 'is nested deeper than 64 levels'),
    ('{"auths": {"quay.io": {"auth": "c2VjcmV0OnBhc3N3b3Jk"}}}' + ' ' * (1024 * 1024), 'is larger than 1 MiB'),
])
def test_corrupt_file(tmp_path, content, fragment):
    path = write_json(tmp_path / 'auth.json', content)
    with pytest.raises(CredentialsError) as info:
        lookup_credentials('quay.io', auth_file=path)
    assert path in info.value.msg and fragment in info.value.msg and 'fix or remove it' in info.value.msg
    assert 'c2VjcmV0' not in info.value.msg.replace(path, '')
    with pytest.raises(CredentialsError):
        AuthFile(path).set_credentials('quay.io', 'u', 'p')
    with pytest.raises(CredentialsError):
        AuthFile(path).remove('quay.io')
    with open(path) as handle:
        assert handle.read() == content  # untouched
    assert sorted(os.listdir(str(tmp_path))) == ['auth.json', 'auth.json.lock']


def test_invalid_auth_value(tmp_path):
    path = write_json(tmp_path / 'auth.json', {'auths': {'quay.io': {'auth': b64('no-colon-here')}}})
    with pytest.raises(CredentialsError) as info:
        lookup_credentials('quay.io', auth_file=path)
    assert "'quay.io'" in info.value.msg and 'no-colon-here' not in info.value.msg


def test_empty_file_is_empty(tmp_path):
    path = write_json(tmp_path / 'auth.json', '')
    assert AuthFile(path).read() == {}
    assert lookup_credentials('quay.io', auth_file=path) is None


# -- writing ---------------------------------------------------------------------------------

def test_set_creates_private_dir_and_file(tmp_path):
    path = str(tmp_path / 'run' / 'containers' / 'auth.json')
    old_umask = os.umask(0o022)
    try:
        assert AuthFile(path).set_credentials('quay.io', 'user', 'pa:ss') is True
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.dirname(os.path.dirname(path))).st_mode) == 0o700
    assert read_json(path) == {'auths': {'quay.io': {'auth': b64('user:pa:ss')}}}
    assert lookup_credentials('quay.io', auth_file=path).password == 'pa:ss'
    # no temp file left behind
    assert sorted(os.listdir(os.path.dirname(path))) == ['auth.json', 'auth.json.lock']


def test_set_is_idempotent_and_keeps_everything_else(tmp_path):
    original = {
        'auths': {
            'ghcr.io': {'auth': b64('gh:1')},
            'quay.io': {'auth': b64('old:pw'), 'identitytoken': 'tok'},
        },
        'credHelpers': {'gcr.io': 'gcloud'},
        'credsStore': 'desktop',
        'psFormat': 'table {{.ID}}',
        'x-unknown': {'nested': [1, 2]},
    }
    path = write_json(tmp_path / 'config.json', original)
    auth = AuthFile(path)
    assert auth.get_entry('quay.io') == ('old', True)
    assert auth.get_entry('nope.example') is None
    assert auth.would_set('quay.io', 'new', 'pw') is True
    assert auth.set_credentials('quay.io', 'new', 'pw', dry_run=True) is True
    assert read_json(path) == original  # dry run wrote nothing
    assert auth.set_credentials('quay.io', 'new', 'pw') is True
    data = read_json(path)
    assert data['auths']['quay.io'] == {'auth': b64('new:pw')}
    for key in ('credHelpers', 'credsStore', 'psFormat', 'x-unknown'):
        assert data[key] == original[key]
    assert data['auths']['ghcr.io'] == original['auths']['ghcr.io']
    mtime = os.stat(path).st_mtime_ns
    assert auth.set_credentials('quay.io', 'new', 'pw') is False
    assert auth.would_set('quay.io', 'new', 'pw') is False
    assert os.stat(path).st_mtime_ns == mtime
    assert auth.set_credentials('quay.io', 'new', 'other') is True
    assert auth.get_entry('quay.io') == ('new', True)


def test_written_format_matches_podman(tmp_path):
    path = str(tmp_path / 'auth.json')
    AuthFile(path).set_credentials('localhost:5000/ns/repo', 'u', 'p')
    with open(path) as handle:
        text = handle.read()
    assert text == '{\n\t"auths": {\n\t\t"localhost:5000/ns/repo": {\n\t\t\t"auth": "%s"\n\t\t}\n\t}\n}\n' % b64('u:p')


def test_remove(tmp_path):
    path = write_json(tmp_path / 'auth.json', {'auths': {'quay.io': {'auth': b64('a:b')}, 'ghcr.io': {'auth': b64('c:d')}},
                                               'credHelpers': {'x.io': 'y'}})
    auth = AuthFile(path)
    assert auth.would_remove('quay.io') is True
    assert auth.remove('quay.io', dry_run=True) is True
    assert 'quay.io' in read_json(path)['auths']
    assert auth.remove('quay.io') is True
    assert read_json(path) == {'auths': {'ghcr.io': {'auth': b64('c:d')}}, 'credHelpers': {'x.io': 'y'}}
    assert auth.remove('quay.io') is False
    assert auth.would_remove('quay.io') is False
    assert AuthFile(str(tmp_path / 'missing' / 'auth.json')).remove('quay.io') is False
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize('key, username', [
    ('https://quay.io', 'u'),
    ('', 'u'),
    ('quay.io', 'a:b'),
    ('quay.io', None),
])
def test_set_rejects_bad_input(tmp_path, key, username):
    with pytest.raises(CredentialsError) as info:
        AuthFile(str(tmp_path / 'auth.json')).set_credentials(key, username, 'secret-pw')
    assert 'secret-pw' not in info.value.msg
    assert not os.path.exists(str(tmp_path / 'auth.json'))


def _add_registry(path, index, barrier):
    barrier.wait()
    AuthFile(path).set_credentials('registry%d.example:5000' % index, 'user%d' % index, 'pass%d' % index)


def test_parallel_writers_lose_nothing(tmp_path):
    path = str(tmp_path / 'containers' / 'auth.json')
    write_json(path, {'auths': {'keep.example': {'auth': b64('k:k')}}})
    ctx = multiprocessing.get_context('fork')
    barrier = ctx.Barrier(8)
    procs = [ctx.Process(target=_add_registry, args=(path, i, barrier)) for i in range(8)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    auths = read_json(path)['auths']
    assert sorted(auths) == sorted(['keep.example'] + ['registry%d.example:5000' % i for i in range(8)])
    for i in range(8):
        creds = lookup_credentials('registry%d.example:5000' % i, auth_file=path)
        assert (creds.username, creds.password) == ('user%d' % i, 'pass%d' % i)


@pytest.mark.parametrize('auths', [
    {'quay.io': 'dXNlcjpwdw=='},
    {'quay.io': None},
    {'other.example': [1], 'quay.io': {'auth': b64('u:p')}},
    {'other.example': {'auth': 5}},
    {'other.example': {'identitytoken': {'x': 1}}},
])
def test_malformed_entry_stops_every_write_and_leaves_the_bytes(tmp_path, auths):
    path = str(tmp_path / 'auth.json')
    original = ('{"auths":%s,  "z":1}' % json.dumps(auths)).encode()
    with open(path, 'wb') as handle:
        handle.write(original)
    auth = AuthFile(path)
    for action in (lambda: auth.get_entry('quay.io'), lambda: auth.would_set('quay.io', 'u', 'p'),
                   lambda: auth.set_credentials('quay.io', 'u', 'p'), lambda: auth.remove('quay.io'),
                   lambda: auth.remove('not-there.example')):
        with pytest.raises(CredentialsError) as info:
            action()
        assert 'left as it is' in info.value.msg and path in info.value.msg
        assert 'dXNlcjpwdw' not in info.value.msg
    with open(path, 'rb') as handle:
        assert handle.read() == original
