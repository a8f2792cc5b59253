from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.errors import AuthenticationError, InvalidReferenceError
from ansible_collections.podkit.containers.plugins.module_utils.usecases.registry_login import apply_login, normalize_registry_key
from ansible_collections.podkit.containers.plugins.module_utils.options import RegistryOptions


@pytest.mark.parametrize('text, key', [
    ('registry.example.com', 'registry.example.com'),
    ('https://Registry.Example.com/', 'registry.example.com'),
    ('http://127.0.0.1:5000', '127.0.0.1:5000'),
    ('quay.io/team/app', 'quay.io/team/app'),
    ('https://index.docker.io/v1/', 'docker.io'),
    ('registry-1.docker.io', 'docker.io'),
    ('[::1]:5000', '[::1]:5000'),
])
def test_normalize_registry_key(text, key):
    assert normalize_registry_key(text) == key


@pytest.mark.parametrize('text', ['', '   ', 'a b', 'quay.io/Team/app', 'host:port:5000', 'https://'])
def test_normalize_registry_key_rejects(text):
    with pytest.raises(InvalidReferenceError) as err:
        normalize_registry_key(text)
    assert 'invalid registry' in err.value.msg


class FakeClient(object):
    """Accepts one user/password pair, as a registry would; records the hosts it was made for."""
    made = []

    def __init__(self, registry, options, conf=None):
        FakeClient.made.append(registry)
        self.registry = registry

    def verify_login(self, username, password):
        if (username, password) != ('alice', 's3cret-pw'):
            raise AuthenticationError('unauthorized: rejected', registry=self.registry)
        return 'bearer'


def _opts(tmp_path, **kw):
    values = dict(username='alice', password='s3cret-pw', auth_file=str(tmp_path / 'auth.json'))
    values.update(kw)
    return RegistryOptions(**values)


def test_login_cycle(tmp_path):
    opts = _opts(tmp_path)
    check = apply_login('quay.io/team/app', opts, check_mode=True, client_factory=FakeClient)
    assert check['changed'] is True and not (tmp_path / 'auth.json').exists()
    assert FakeClient.made[-1] == 'quay.io'  # verified against the host, stored for the repository
    first = apply_login('quay.io/team/app', opts, client_factory=FakeClient)
    assert first['changed'] is True and first['auth_scheme'] == 'bearer'
    assert list(json.loads((tmp_path / 'auth.json').read_text())['auths']) == ['quay.io/team/app']
    second = apply_login('quay.io/team/app', opts, client_factory=FakeClient)
    assert second['changed'] is False
    assert second['diff']['before'] == second['diff']['after']
    assert 's3cret-pw' not in json.dumps(second)


def test_wrong_password_writes_nothing(tmp_path):
    with pytest.raises(AuthenticationError):
        apply_login('quay.io', _opts(tmp_path, password='nope-nope'), client_factory=FakeClient)
    assert not (tmp_path / 'auth.json').exists()


def test_logout(tmp_path):
    opts = _opts(tmp_path)
    apply_login('quay.io', opts, client_factory=FakeClient)
    out = apply_login('quay.io', opts, state='absent', check_mode=True)
    assert out['changed'] is True and 'quay.io' in (tmp_path / 'auth.json').read_text()
    assert apply_login('quay.io', opts, state='absent')['changed'] is True
    assert apply_login('quay.io', opts, state='absent')['changed'] is False
