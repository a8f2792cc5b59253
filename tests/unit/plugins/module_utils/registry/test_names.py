from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError, NotFoundError
from ansible_collections.podkit.containers.plugins.module_utils.registry.names import open_image, resolve_name
from ansible_collections.podkit.containers.plugins.module_utils.options import RegistryOptions
from ansible_collections.podkit.containers.plugins.module_utils.registry.registries_conf import load_registries_conf


def _conf(tmp_path, text):
    path = tmp_path / 'registries.conf'
    path.write_text(text)
    return load_registries_conf(str(path))


@pytest.mark.parametrize('text, name, expected', [
    ('', 'nginx', (['docker.io/library/nginx:latest'], 'default')),
    ('', 'quay.io/a/b:1', (['quay.io/a/b:1'], None)),
    ('unqualified-search-registries = ["r1.example", "r2.example:5000"]\n', 'team/app:2',
     (['r1.example/team/app:2', 'r2.example:5000/team/app:2'], 'search')),
    ('[aliases]\n"web" = "quay.io/org/web"\n', 'web:3', (['quay.io/org/web:3'], 'alias')),
])
def test_resolve_name(tmp_path, text, name, expected):
    assert resolve_name(name, _conf(tmp_path, text)) == expected


class FakeClient(object):
    """A registry per host holding the manifests in ``content``."""
    content = {}

    def __init__(self, registry, options, conf=None):
        self.registry = registry
        self.options = options

    def get_manifest(self, repository, reference):
        key = '%s/%s:%s' % (self.registry, repository, reference)
        if key not in self.content:
            raise NotFoundError('manifest for %s not found' % key, registry=self.registry, repository=repository, status=404)
        return self.content[key]


def test_open_image_search_and_mirrors(tmp_path):
    conf = _conf(tmp_path, '\n'.join([
        'unqualified-search-registries = ["r1.example", "r2.example"]',
        '[[registry]]',
        'location = "r2.example"',
        '[[registry.mirror]]',
        'location = "mirror.example"',
        'insecure = true',
    ]))
    FakeClient.content = {'r2.example/team/app:1': 'primary', 'mirror.example/team/app:1': 'from-mirror'}
    image = open_image('team/app:1', RegistryOptions(), client_factory=FakeClient, conf=conf)
    assert str(image.reference) == 'r2.example/team/app:1'
    assert str(image.source) == 'mirror.example/team/app:1'
    assert image.manifest == 'from-mirror' and image.resolved_from == 'search'
    assert image.client.options.insecure is True  # mirror marked insecure

    FakeClient.content = {}
    with pytest.raises(NotFoundError) as err:
        open_image('team/app:1', RegistryOptions(), client_factory=FakeClient, conf=conf)
    assert 'found in none of the places tried' in err.value.msg and 'r1.example/team/app:1' in err.value.msg


def test_blocked_registry(tmp_path):
    conf = _conf(tmp_path, '[[registry]]\nlocation = "bad.example"\nblocked = true\n')
    with pytest.raises(ConfigError) as err:
        open_image('bad.example/x:1', RegistryOptions(), client_factory=FakeClient, conf=conf)
    assert 'blocked' in err.value.msg
