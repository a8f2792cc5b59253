# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The option table, row by row: every row has a case here (adding an option is adding a row and its case).

A case is what one option does everywhere: the canonical value, the podman argv, the Quadlet lines (with the
newest Quadlet the table knows, and with the 4.4 one the renderer targets by default), the effective value read
from a real podman 4.3.1 inspect (fixtures/) that must compare equal, and a value that must not.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle import spec, systemd

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures')
IMAGE = 'localhost/podkit-lifecycle/busybox:1'
NEWEST_QUADLET = max(systemd.QUADLET_KEYS.values(), key=lambda v: tuple(int(p) for p in v.split('.')))


def load(name):
    with open(os.path.join(FIXTURES, name + '.json')) as handle:
        return json.load(handle)[0]


class Case(object):
    def __init__(self, value, canonical, argv, quadlet, container, different, image='image-busybox'):
        self.value = value
        self.canonical = canonical
        self.argv = argv
        self.quadlet = quadlet          # [Container] lines with NEWEST_QUADLET; None: not in a unit
        self.container = container      # fixture whose effective value equals value
        self.image = image
        self.different = different      # a value that is drift against that container


# fixtures/container-fxfull.json: see test_spec.py for the podman create line it was made with.
CASES = {
    'entrypoint': Case(['/bin/sh', '-c'], ['/bin/sh', '-c'], ['--entrypoint', '["/bin/sh", "-c"]'],
                       ['Entrypoint=["/bin/sh", "-c"]'], 'container-fxfull', '/bin/sh'),
    'command': Case('"echo hi; sleep 1000"', ['echo hi; sleep 1000'], ['echo hi; sleep 1000'],
                    ['Exec="echo hi; sleep 1000"'], 'container-fxfull', 'sleep 1'),
    'env': Case({'FOO': 'bar', 'X': 1}, {'FOO': 'bar', 'X': '1'}, ['--env', 'FOO=bar', '--env', 'X=1'],
                ['Environment=FOO=bar', 'Environment=X=1'], 'container-fxfull', {'FOO': 'baz'}),
    'labels': Case({'app': 'web'}, {'app': 'web'}, ['--label', 'app=web'], ['Label=app=web'], 'container-fxfull',
                   {'app': 'api'}),
    'ports': Case(['8080:80', '127.0.0.1:9090:90/udp', '7000'],
                  [('', 8080, 80, 'tcp'), ('127.0.0.1', 9090, 90, 'udp'), ('', None, 7000, 'tcp')],
                  ['--publish', '8080:80/tcp', '--publish', '127.0.0.1:9090:90/udp', '--publish', '7000/tcp'],
                  ['PublishPort=8080:80/tcp', 'PublishPort=127.0.0.1:9090:90/udp', 'PublishPort=7000/tcp'],
                  'container-fxfull', ['8080:80']),
    'volumes': Case(['/tmp/pk/:/data:ro', 'fxnamedvol:/vol', '/anon'],
                    [('anonymous', None, '/anon', False, ()), ('bind', '/tmp/pk', '/data', True, ()),
                     ('volume', 'fxnamedvol', '/vol', False, ())],
                    ['--volume', '/anon', '--volume', '/tmp/pk:/data:ro', '--volume', 'fxnamedvol:/vol'],
                    ['Volume=/anon', 'Volume=/tmp/pk:/data:ro', 'Volume=fxnamedvol:/vol'], 'container-fxfull',
                    ['/tmp/pk:/data', 'fxnamedvol:/vol', '/anon']),
    'user': Case('1000:1000', '1000:1000', ['--user', '1000:1000'], ['User=1000:1000'], 'container-fxfull', 'root'),
    'workdir': Case('/srv', '/srv', ['--workdir', '/srv'], ['WorkingDir=/srv'], 'container-fxfull', '/'),
    'network': Case(['podman'], ['podman'], ['--network', 'podman'], ['Network=podman'], 'container-fxfull',
                    ['none']),
    'hostname': Case('fxhost', 'fxhost', ['--hostname', 'fxhost'], ['HostName=fxhost'], 'container-fxfull', 'other'),
    'restart_policy': Case('on-failure:3', ('on-failure', 3), ['--restart', 'on-failure:3'], None, 'container-fxfull',
                           'always'),
    'stop_signal': Case('SIGINT', 2, ['--stop-signal', '2'], ['StopSignal=2'], 'container-fxfull', 'TERM'),
    'stop_timeout': Case(5, 5, ['--stop-timeout', '5'], ['StopTimeout=5'], 'container-fxfull', 10),
    'memory': Case('512m', 536870912, ['--memory', '536870912'], ['PodmanArgs=--memory 536870912'],
                   'container-fxfull', '256m'),
    'cpus': Case(1.5, 1500000000, ['--cpus', '1.5'], ['PodmanArgs=--cpus 1.5'], 'container-fxfull', 2),
    'healthcheck': Case({'test': '/bin/true', 'interval': '30s'}, {'test': ['CMD-SHELL', '/bin/true'], 'interval': 30 * 10 ** 9},
                        ['--health-cmd', '/bin/true', '--health-interval', '30s'],
                        ['HealthCmd=/bin/true', 'HealthInterval=30s'], 'container-fxfull', {'test': '/bin/false'}),
}


def _spec(key, value):
    return spec.ContainerSpec.from_params({'name': 'web', 'image': IMAGE, key: value})


def _container_lines(text):
    section = text.split('[Container]\n', 1)[1].split('\n\n', 1)[0]
    return [line for line in section.splitlines() if not line.startswith(('Image=', 'ContainerName='))]


def test_every_row_has_a_case():
    assert sorted(CASES) == sorted(spec.OPTION_KEYS)


@pytest.mark.parametrize('key', sorted(CASES))
def test_normalise_and_argv(key):
    case = CASES[key]
    desired = _spec(key, case.value)
    assert desired.options[key] == case.canonical
    assert spec.row(key).argv(case.canonical) == case.argv
    if spec.row(key).trailing:
        assert desired.create_args() == ['--name', 'web', IMAGE] + case.argv
    else:
        assert desired.create_args() == ['--name', 'web'] + case.argv + [IMAGE]


@pytest.mark.parametrize('key', sorted(CASES))
def test_quadlet(key):
    case = CASES[key]
    if case.quadlet is None:
        assert not spec.row(key).shared
        return
    desired = systemd.container_spec('web', {'image': IMAGE, key: case.value})
    opts = systemd.UnitOptions('web')
    assert _container_lines(systemd.render_quadlet(desired, opts, version=NEWEST_QUADLET)) == case.quadlet
    # With the default (4.4) Quadlet, a key of a later release is a PodmanArgs= line instead.
    lines = _container_lines(systemd.render_quadlet(desired, opts))
    for line in lines:
        name = line.split('=', 1)[0]
        assert systemd.QUADLET_KEYS[name] == systemd.QUADLET_MIN_VERSION, line
    late = [q.key for q in spec.row(key).quadlet if q.since != systemd.QUADLET_MIN_VERSION]
    if late and not spec.row(key).trailing:
        assert [line for line in lines if line.startswith('PodmanArgs=')], lines


@pytest.mark.parametrize('key', sorted(CASES))
def test_effective_value_from_real_inspect(key):
    case = CASES[key]
    container, image = load(case.container), load(case.image)
    assert _spec(key, case.value).compare(container, image) == []
    differences = _spec(key, case.different).compare(container, image)
    assert [d['key'] for d in differences] == [key]
    assert differences[0]['after'] == spec.row(key).show(_spec(key, case.different).options[key])


@pytest.mark.parametrize('key', sorted(CASES))
def test_unit_exec_start_carries_the_argv(key):
    case = CASES[key]
    if case.quadlet is None:
        return
    desired = systemd.container_spec('web', {'image': IMAGE, key: case.value})
    text = systemd.render('unit', desired, systemd.UnitOptions('web'))[2]
    exec_start = text.split('ExecStart=', 1)[1].split('\nExecStop=', 1)[0]
    words = ' '.join(part.strip() for part in exec_start.split('\\\n'))
    quoted = ' '.join(systemd.quote_word(a) for a in case.argv)
    assert quoted in words


def test_quadlet_keys_of_rows_are_not_listed_twice():
    own = set(q.key for row in spec.OPTIONS for q in row.quadlet)
    assert own.isdisjoint(systemd._QUADLET_OTHER_KEYS)
    assert own <= set(systemd.QUADLET_KEYS)


def test_argument_spec_of_rows():
    argspec = spec.argument_spec()
    assert sorted(k for k in argspec if k != 'spec') == sorted(spec.SHARED_KEYS)
    assert argspec['spec'] == {'type': 'dict'}
    assert 'restart_policy' not in argspec
    assert argspec['healthcheck']['options']['test'] == {'type': 'raw', 'required': True}
    # a fresh copy each call: AnsibleModule writes into the spec it is given
    argspec['env']['type'] = 'list'
    argspec['healthcheck']['options']['test']['type'] = 'str'
    assert spec.argument_spec()['env']['type'] == 'dict'
    assert spec.argument_spec()['healthcheck']['options']['test']['type'] == 'raw'


def test_spec_dictionary_is_folded_in():
    params = {'name': 'web', 'image': IMAGE, 'env': None, 'spec': {'env': {'A': '1'}, 'ports': None, 'user': 'app'}}
    desired = spec.ContainerSpec.from_params(params)
    assert desired.options == {'env': {'A': '1'}, 'user': 'app'}
    assert params['spec']['env'] == {'A': '1'}  # the caller's params are not changed


def test_spec_dictionary_and_option_both_set():
    with pytest.raises(ConfigError) as err:
        spec.fold_spec({'name': 'web', 'user': 'root', 'spec': {'user': 'app'}})
    assert err.value.msg == 'user is set both as an option and in spec; set it in one place'
    assert err.value.details == {'option': 'user'}


@pytest.mark.parametrize('nested, fragment', [
    ({'bogus': 1, 'env': {}}, 'spec: unknown option bogus; spec takes command, cpus, entrypoint, env, healthcheck,'),
    ({'stop_timeout': 'soon'}, "spec: argument 'stop_timeout' is of type"),
    ({'healthcheck': {'interval': '5s'}}, 'spec: missing required arguments: test found in healthcheck'),
    (['env'], 'spec: expected a dictionary of container options'),
])
def test_spec_dictionary_is_validated_like_the_options(nested, fragment):
    with pytest.raises(ConfigError) as err:
        spec.fold_spec({'name': 'web', 'spec': nested})
    assert err.value.msg.startswith(fragment), err.value.msg
    assert err.value.details == {'option': 'spec'}


def test_spec_dictionary_values_are_converted():
    folded = spec.fold_spec({'name': 'web', 'spec': {'stop_timeout': '7', 'ports': [8080], 'cpus': '1.5'}})
    assert (folded['stop_timeout'], folded['ports'], folded['cpus']) == (7, ['8080'], 1.5)
