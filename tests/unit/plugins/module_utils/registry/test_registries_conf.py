# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import textwrap

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError
from ansible_collections.podkit.containers.plugins.module_utils.registry import registries_conf
from ansible_collections.podkit.containers.plugins.module_utils.registry.reference import parse_reference
from ansible_collections.podkit.containers.plugins.module_utils.registry.registries_conf import (
    load_registries_conf,
    registries_conf_paths,
)

SHA256 = 'sha256:' + 'c' * 64

MAIN = '''
unqualified-search-registries = ["registry.fedoraproject.org", "quay.io", "docker.io"]

[aliases]
"fedora" = "registry.fedoraproject.org/fedora"
"ubi9" = "registry.access.redhat.com/ubi9"

[[registry]]
prefix = "example.com/foo"
location = "internal.example.net/bar"
insecure = false

[[registry.mirror]]
location = "mirror-0.local/mirror-for-foo"

[[registry.mirror]]
location = "mirror-1.local/mirrors/foo"
insecure = true

[[registry]]
location = "example.com"
insecure = true

[[registry]]
prefix = "example.com/foo/special"
location = "special.example.net/s"

[[registry]]
location = "blocked.example.org"
blocked = true

[[registry]]
prefix = "*.wild.example"
insecure = true

[[registry]]
location = "exact.wild.example"

[[registry]]
location = "localhost:5000"
insecure = true

[[registry]]
prefix = "docker.io/library/busybox"
location = "hub-cache.local/library/busybox"

[[registry]]
prefix = "digests.example"
location = "digests.example"
mirror-by-digest-only = true

[[registry.mirror]]
location = "dmirror.local"

[[registry]]
prefix = "modes.example"
location = "modes.example"

[[registry.mirror]]
location = "by-digest.local"
pull-from-mirror = "digest-only"

[[registry.mirror]]
location = "by-tag.local"
pull-from-mirror = "tag-only"

[[registry.mirror]]
location = "any.local"
pull-from-mirror = "all"
'''


def write(path, text):
    dirname = os.path.dirname(str(path))
    if not os.path.isdir(dirname):
        os.makedirs(dirname)
    with open(str(path), 'w') as handle:
        handle.write(textwrap.dedent(text))
    return str(path)


@pytest.fixture
def conf(tmp_path):
    return load_registries_conf(write(tmp_path / 'registries.conf', MAIN))


def test_globals(conf):
    assert conf.unqualified_search_registries == ['registry.fedoraproject.org', 'quay.io', 'docker.io']
    assert conf.aliases == {'fedora': 'registry.fedoraproject.org/fedora', 'ubi9': 'registry.access.redhat.com/ubi9'}
    assert conf.short_name_mode == 'permissive'
    assert conf.unavailable_reason is None


@pytest.mark.parametrize('name, candidates, method', [
    ('nginx', ['registry.fedoraproject.org/nginx:latest', 'quay.io/nginx:latest', 'docker.io/library/nginx:latest'], 'search'),
    ('nginx:1.25', ['registry.fedoraproject.org/nginx:1.25', 'quay.io/nginx:1.25', 'docker.io/library/nginx:1.25'], 'search'),
    ('ns/app@' + SHA256, ['registry.fedoraproject.org/ns/app@' + SHA256, 'quay.io/ns/app@' + SHA256,
                          'docker.io/ns/app@' + SHA256], 'search'),
    ('fedora', ['registry.fedoraproject.org/fedora:latest'], 'alias'),
    ('fedora:40', ['registry.fedoraproject.org/fedora:40'], 'alias'),
    ('ubi9@' + SHA256, ['registry.access.redhat.com/ubi9@' + SHA256], 'alias'),
    ('quay.io/podman/stable', ['quay.io/podman/stable:latest'], 'qualified'),
    ('docker.io/nginx:1', ['docker.io/library/nginx:1'], 'qualified'),
])
def test_resolve_short_name(conf, name, candidates, method):
    result = conf.resolve_short_name(name)
    assert result.candidates == candidates
    assert result.method == method
    assert result.mode == 'permissive'


def test_resolve_short_name_enforcing(tmp_path):
    conf = load_registries_conf(write(tmp_path / 'r.conf', '''
        unqualified-search-registries = ["a.example", "b.example"]
        short-name-mode = "enforcing"
        [aliases]
        "app" = "c.example/team/app"
    '''))
    with pytest.raises(ConfigError) as info:
        conf.resolve_short_name('nginx')
    assert 'ambiguous' in info.value.msg and 'enforcing' in info.value.msg
    assert conf.resolve_short_name('app').candidates == ['c.example/team/app:latest']
    single = load_registries_conf(write(tmp_path / 's.conf', '''
        unqualified-search-registries = ["a.example"]
        short-name-mode = "enforcing"
    '''))
    assert single.resolve_short_name('nginx').candidates == ['a.example/nginx:latest']


def test_resolve_short_name_without_search_registries(tmp_path):
    conf = load_registries_conf(str(tmp_path / 'missing.conf'))
    with pytest.raises(ConfigError) as info:
        conf.resolve_short_name('nginx')
    assert 'no unqualified-search-registries' in info.value.msg
    assert 'docker.io/library/nginx' in info.value.msg
    assert conf.resolve_short_name('quay.io/a/b').candidates == ['quay.io/a/b:latest']


@pytest.mark.parametrize('name, prefix', [
    ('example.com/foo/image:latest', 'example.com/foo'),
    ('example.com/foo', 'example.com/foo'),
    ('example.com/foo:tag', 'example.com/foo'),
    ('example.com/foo@' + SHA256, 'example.com/foo'),
    ('example.com/foo/special/x', 'example.com/foo/special'),
    ('example.com/foo/specialist', 'example.com/foo'),
    ('example.com/foobar/x', 'example.com'),
    ('example.com/other', 'example.com'),
    ('example.com', 'example.com'),
    ('example.com:5000/x', None),
    ('example.community/x', None),
    ('sub.example.com/x', None),
    ('a.wild.example/x', '*.wild.example'),
    ('a.b.wild.example:8443/x', '*.wild.example'),
    ('exact.wild.example/x', 'exact.wild.example'),
    ('wild.example/x', None),
    ('localhost:5000/x', 'localhost:5000'),
    ('localhost:5000', 'localhost:5000'),
    ('localhost/x', None),
    ('docker.io/busybox', 'docker.io/library/busybox'),
    ('busybox', None),  # a bare word is a host here, not a Docker Hub name
    ('docker.io/busybox/x', None),
    (parse_reference('busybox:1'), 'docker.io/library/busybox'),
    ('docker://example.com/foo/x', 'example.com/foo'),
])
def test_find_registry_longest_prefix(conf, name, prefix):
    entry = conf.find_registry(name)
    assert (entry.prefix if entry else None) == prefix


@pytest.mark.parametrize('name, insecure, blocked', [
    ('example.com', True, False),
    ('example.com/foo/x', False, False),
    ('localhost:5000', True, False),
    ('a.wild.example', True, False),
    ('exact.wild.example', False, False),
    ('blocked.example.org/x/y', False, True),
    ('blocked.example.org', False, True),
    ('quay.io', False, False),
])
def test_insecure_blocked(conf, name, insecure, blocked):
    assert conf.is_insecure(name) is insecure
    assert conf.is_blocked(name) is blocked


@pytest.mark.parametrize('name, rewritten', [
    ('example.com/foo/image:latest', 'internal.example.net/bar/image:latest'),
    ('example.com/foo/special/x:1', 'special.example.net/s/x:1'),
    ('example.com/other:1', 'example.com/other:1'),
    ('docker.io/library/busybox:1', 'hub-cache.local/library/busybox:1'),
    ('a.wild.example/x:1', 'a.wild.example/x:1'),
    ('quay.io/a/b:1', 'quay.io/a/b:1'),
])
def test_rewrite(conf, name, rewritten):
    assert conf.rewrite(name) == rewritten


@pytest.mark.parametrize('name, sources', [
    ('example.com/foo/image:latest', [('mirror-0.local/mirror-for-foo/image:latest', False),
                                      ('mirror-1.local/mirrors/foo/image:latest', True),
                                      ('internal.example.net/bar/image:latest', False)]),
    ('quay.io/a/b:1', [('quay.io/a/b:1', False)]),
    ('example.com/x:1', [('example.com/x:1', True)]),
    ('a.wild.example/x:1', [('a.wild.example/x:1', True)]),
    ('digests.example/x:1', [('digests.example/x:1', False)]),
    ('digests.example/x@' + SHA256, [('dmirror.local/x@' + SHA256, False), ('digests.example/x@' + SHA256, False)]),
    ('modes.example/x:1', [('by-tag.local/x:1', False), ('any.local/x:1', False), ('modes.example/x:1', False)]),
    ('modes.example/x@' + SHA256, [('by-digest.local/x@' + SHA256, False), ('any.local/x@' + SHA256, False),
                                   ('modes.example/x@' + SHA256, False)]),
])
def test_pull_sources(conf, name, sources):
    assert conf.pull_sources(name) == sources


def test_pull_sources_blocked(conf):
    with pytest.raises(ConfigError) as info:
        conf.pull_sources('blocked.example.org/x:1')
    assert 'blocked' in info.value.msg


def test_malformed_toml(tmp_path):
    path = write(tmp_path / 'registries.conf', 'unqualified-search-registries = ["a.example"\n[[registry]\n')
    with pytest.raises(ConfigError) as info:
        load_registries_conf(path)
    assert path in info.value.msg and 'not valid TOML at line 2, column 1' in info.value.msg
    assert '\n' not in info.value.msg


@pytest.mark.parametrize('text', ['a = ' + '[' * 400000, 'a = ' + '{ b = ' * 100000, '[[registry]]\nx = ' + '[' * 70])
def test_deeply_nested_toml_is_refused_before_parsing(tmp_path, text):
    path = write(tmp_path / 'registries.conf', text)
    with pytest.raises(ConfigError) as info:
        load_registries_conf(path)
    assert info.value.msg == '%s is nested deeper than 64 levels; refusing to parse it' % path


@pytest.mark.parametrize('text, fragment', [
    ('[[registry]]\ninsecure = true\n', 'neither prefix nor location'),
    ('[[registry]]\nlocation = "a.example"\ninsecure = "yes"\n', 'insecure must be true or false'),
    ('[[registry]]\nprefix = "example.*.com"\n', 'wildcard'),
    ('[[registry]]\nprefix = "*.example.com/foo"\n', 'wildcard'),
    ('[[registry]]\nlocation = "https://a.example"\n', 'scheme'),
    ('[[registry]]\nlocation = "a.example"\n[[registry.mirror]]\ninsecure = true\n', 'has no location'),
    ('[[registry]]\nlocation = "a.example"\n[[registry.mirror]]\nlocation = "m"\npull-from-mirror = "x"\n', 'pull-from-mirror'),
    ('[[registry]]\nlocation = "a.example"\n[[registry]]\nlocation = "a.example"\n', 'more than once'),
    ('short-name-mode = "lax"\n', 'short-name-mode'),
    ('unqualified-search-registries = "quay.io"\n', 'array of strings'),
    ('unqualified-search-registries = ["quay.io/ns"]\n', 'host[:port]'),
    ('[aliases]\n"quay.io/x" = "quay.io/x"\n', 'must be a short name'),
    ('[aliases]\n"x" = "x"\n', 'fully-qualified'),
    ('[aliases]\n"x" = "quay.io/x:1"\n', 'without tag or digest'),
    ('[registries.search]\nregistries = ["a"]\n[[registry]]\nlocation = "b"\n', 'mixes'),
])
def test_invalid_content(tmp_path, text, fragment):
    path = write(tmp_path / 'registries.conf', text)
    with pytest.raises(ConfigError) as info:
        load_registries_conf(path)
    assert fragment in info.value.msg
    assert path in info.value.msg


def test_version1(tmp_path):
    conf = load_registries_conf(write(tmp_path / 'r.conf', '''
        [registries.search]
        registries = ["quay.io", "docker.io"]
        [registries.insecure]
        registries = ["localhost:5000", "both.example"]
        [registries.block]
        registries = ["bad.example", "both.example"]
    '''))
    assert conf.unqualified_search_registries == ['quay.io', 'docker.io']
    assert conf.is_insecure('localhost:5000') and not conf.is_blocked('localhost:5000')
    assert conf.is_blocked('bad.example/x') and not conf.is_insecure('bad.example')
    assert conf.is_blocked('both.example/x') and conf.is_insecure('both.example')


def test_missing_file_is_empty(tmp_path):
    conf = load_registries_conf(str(tmp_path / 'nope.conf'))
    assert conf.files == [] and conf.registries == [] and conf.unqualified_search_registries == []
    assert conf.find_registry('quay.io/a') is None
    assert conf.pull_sources('quay.io/a:1') == [('quay.io/a:1', False)]


def test_dropins(tmp_path):
    home = tmp_path / 'home'
    main = write(home / '.config' / 'containers' / 'registries.conf', '''
        unqualified-search-registries = ["a.example"]
        short-name-mode = "enforcing"
        [aliases]
        "one" = "a.example/one"
        "two" = "a.example/two"
        [[registry]]
        location = "r1.example"
        insecure = true
        [[registry]]
        location = "r2.example"
        blocked = true
    ''')
    dropins = home / '.config' / 'containers' / 'registries.conf.d'
    write(dropins / '20-second.conf', '''
        unqualified-search-registries = ["c.example", "d.example"]
        [aliases]
        "two" = ""
        [[registry]]
        prefix = "r1.example"
        location = "r1-mirror.example"
    ''')
    write(dropins / '10-first.conf', '''
        unqualified-search-registries = ["b.example"]
        short-name-mode = "disabled"
        [aliases]
        "three" = "b.example/three"
        [[registry]]
        location = "r3.example"
        insecure = true
    ''')
    write(dropins / 'ignored.txt', 'this is [[ not toml')
    main_path, dropin_paths = registries_conf_paths(env={'HOME': str(home)})
    assert main_path == main
    assert [os.path.basename(p) for p in dropin_paths] == ['10-first.conf', '20-second.conf']
    conf = load_registries_conf(env={'HOME': str(home)})
    assert conf.files == [main] + dropin_paths
    assert conf.unqualified_search_registries == ['c.example', 'd.example']
    assert conf.short_name_mode == 'disabled'
    assert conf.aliases == {'one': 'a.example/one', 'three': 'b.example/three'}
    # the later table for prefix r1.example replaced the whole earlier one (insecure is gone)
    assert conf.rewrite('r1.example/x:1') == 'r1-mirror.example/x:1'
    assert not conf.is_insecure('r1.example')
    assert conf.is_blocked('r2.example/x')
    assert conf.is_insecure('r3.example')


def test_empty_search_list_in_dropin_clears(tmp_path, monkeypatch):
    main = write(tmp_path / 'etc' / 'registries.conf', 'unqualified-search-registries = ["a.example"]\n')
    write(tmp_path / 'etc' / 'registries.conf.d' / '50.conf', 'unqualified-search-registries = []\n')
    write(tmp_path / 'etc' / 'registries.conf.d' / '60.conf', 'short-name-mode = "permissive"\n')
    # the system path is not ours to write: point the loader at the temp tree
    monkeypatch.setattr(registries_conf, 'SYSTEM_REGISTRIES_CONF', main)
    conf = load_registries_conf(env={'HOME': str(tmp_path / 'nohome')})
    assert conf.unqualified_search_registries == []
    assert len(conf.files) == 3


def test_source_selection(tmp_path):
    env_file = write(tmp_path / 'env.conf', 'unqualified-search-registries = ["env.example"]\n')
    home = tmp_path / 'home'
    write(home / '.config' / 'containers' / 'registries.conf', 'unqualified-search-registries = ["user.example"]\n')
    write(home / '.config' / 'containers' / 'registries.conf.d' / 'x.conf', 'unqualified-search-registries = ["dropin.example"]\n')
    explicit = write(tmp_path / 'explicit.conf', 'unqualified-search-registries = ["explicit.example"]\n')
    env = {'HOME': str(home), 'CONTAINERS_REGISTRIES_CONF': env_file}
    assert load_registries_conf(explicit, env=env).unqualified_search_registries == ['explicit.example']
    assert load_registries_conf(env=env).unqualified_search_registries == ['env.example']
    assert load_registries_conf(env={'HOME': str(home)}).unqualified_search_registries == ['dropin.example']
    assert registries_conf_paths(env={'HOME': str(tmp_path / 'empty')})[0] == '/etc/containers/registries.conf'


class TestWithoutTomlParser(object):

    @pytest.fixture(autouse=True)
    def no_parser(self, monkeypatch):
        monkeypatch.setattr(registries_conf, 'TOML_PARSER', None)

    def test_missing_file_is_fine(self, tmp_path):
        conf = load_registries_conf(str(tmp_path / 'nope.conf'))
        assert conf.unavailable_reason is None
        assert conf.pull_sources('quay.io/a:1') == [('quay.io/a:1', False)]

    def test_error_only_when_needed(self, tmp_path):
        path = write(tmp_path / 'registries.conf', '''
            # docker.io appears in comments only
            unqualified-search-registries = ["docker.io", "quay.io"]
            [aliases]
            "nginx" = "docker.io/library/nginx"
            [[registry]]
            location = "insecure.example:5000"
            insecure = true
            [[registry]]
            prefix = "*.corp.example"
            blocked = true
        ''')
        conf = load_registries_conf(path)  # loading itself does not fail
        assert conf.unavailable_reason
        # registries the file cannot configure are answered
        assert conf.find_registry('docker.io/library/nginx:1') is None
        assert conf.pull_sources('ghcr.io/o/r:1') == [('ghcr.io/o/r:1', False)]
        assert conf.resolve_short_name('quay.io/a/b').candidates == ['quay.io/a/b:latest']
        for call, arg in ((conf.is_insecure, 'insecure.example:5000'), (conf.is_blocked, 'a.b.corp.example/x'),
                          (conf.resolve_short_name, 'nginx')):
            with pytest.raises(ConfigError) as info:
                call(arg)
            assert info.value.msg.startswith('cannot read %s: Python ' % path)
            assert "has no TOML parser; install the 'tomli' package on the target or use fully qualified image names" in info.value.msg
