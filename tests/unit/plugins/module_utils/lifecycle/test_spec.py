# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Spec normalisation, validation, argv, and comparison against real podman 4.3.1 inspect output (fixtures/)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.spec import ContainerSpec

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures')
IMAGE = 'localhost/podkit-lifecycle/busybox:1'


def load(name):
    with open(os.path.join(FIXTURES, name + '.json')) as handle:
        return json.load(handle)[0]


def spec(**options):
    params = dict(name='web', image=IMAGE)
    params.update(options)
    return ContainerSpec.from_params(params)


# What fixtures/container-fxfull.json was created with (podman 4.3.1):
#   podman create --name fxfull --env FOO=bar --env X=1 -p 8080:80 -p 127.0.0.1:9090:90/udp -p 7000
#     -v /tmp/pk:/data:ro -v fxnamedvol:/vol -v /anon --label app=web --user 1000:1000 --workdir /srv
#     --hostname fxhost --restart on-failure:3 --stop-signal SIGINT --stop-timeout 5 --memory 512m --cpus 1.5
#     --health-cmd /bin/true --health-interval 30s --entrypoint '["/bin/sh","-c"]' IMAGE 'echo hi; sleep 1000'
FULL = dict(
    env={'FOO': 'bar', 'X': 1},
    ports=['8080:80', '127.0.0.1:9090:90/udp', '7000'],
    volumes=['/tmp/pk/:/data:ro', 'fxnamedvol:/vol', '/anon'],
    labels={'app': 'web'},
    user='1000:1000',
    workdir='/srv',
    hostname='fxhost',
    restart_policy='on-failure:3',
    stop_signal='SIGINT',
    stop_timeout=5,
    memory='512m',
    cpus=1.5,
    healthcheck={'test': '/bin/true', 'interval': '30s'},
    entrypoint=['/bin/sh', '-c'],
    command=['echo hi; sleep 1000'],
)


# -- normalisation ---------------------------------------------------------------------------------------

@pytest.mark.parametrize('key, value, canonical', [
    ('command', 'sleep 10', ['sleep', '10']),
    ('command', ['sh', '-c', 'echo a b'], ['sh', '-c', 'echo a b']),
    ('command', "sh -c 'echo a b'", ['sh', '-c', 'echo a b']),
    ('env', {'A': 1, 'B': None, 'C': 'x'}, {'A': '1', 'B': '', 'C': 'x'}),
    ('ports', ['80'], [('', None, 80, 'tcp')]),
    ('ports', ['8080:80', '53:53/udp'], [('', 53, 53, 'udp'), ('', 8080, 80, 'tcp')]),
    ('ports', ['127.0.0.1:8080:80'], [('127.0.0.1', 8080, 80, 'tcp')]),
    ('ports', ['127.0.0.1::80'], [('127.0.0.1', None, 80, 'tcp')]),
    ('ports', ['[::1]:8080:80/sctp'], [('::1', 8080, 80, 'sctp')]),
    ('ports', ['8000-8001:90-91'], [('', 8000, 90, 'tcp'), ('', 8001, 91, 'tcp')]),
    ('ports', ['8080:80', '8080:80/tcp'], [('', 8080, 80, 'tcp')]),
    ('volumes', ['/srv/www/:/www:ro,Z'], [('bind', '/srv/www', '/www', True, ('Z',))]),
    ('volumes', ['data:/var/lib/data'], [('volume', 'data', '/var/lib/data', False, ())]),
    ('volumes', ['/scratch'], [('anonymous', None, '/scratch', False, ())]),
    ('restart_policy', 'always', ('always', 0)),
    ('restart_policy', 'on-failure:5', ('on-failure', 5)),
    ('stop_signal', 'SIGINT', 2),
    ('stop_signal', 'term', 15),
    ('stop_signal', '9', 9),
    ('memory', '512m', 536870912),
    ('memory', '1g', 1073741824),
    ('memory', '1.5G', 1610612736),
    ('memory', 10485760, 10485760),
    ('cpus', 1.5, 1500000000),
    ('cpus', '0.25', 250000000),
    ('network', ['none'], ['none']),
    ('network', ['b', 'a'], ['a', 'b']),
    ('healthcheck', {'test': 'curl -f localhost', 'interval': '1m30s', 'retries': 2},
     {'test': ['CMD-SHELL', 'curl -f localhost'], 'interval': 90 * 10 ** 9, 'retries': 2}),
    ('healthcheck', {'test': ['CMD', '/bin/check', '--fast'], 'timeout': 5},
     {'test': ['CMD', '/bin/check', '--fast'], 'timeout': 5 * 10 ** 9}),
    # podman 4.3 stores a one-element exec form as CMD-SHELL
    ('healthcheck', {'test': ['/bin/true']}, {'test': ['CMD-SHELL', '/bin/true']}),
    ('healthcheck', {'test': 'none'}, {'test': ['NONE']}),
])
def test_normalise(key, value, canonical):
    assert spec(**{key: value}).options[key] == canonical


def test_unset_options_are_not_in_the_spec():
    assert spec(env=None, ports=None).options == {}


@pytest.mark.parametrize('key, value, fragment', [
    ('ports', ['99999:80'], 'host port 99999 is out of range'),
    ('ports', ['8080:0'], 'container port 0 is out of range'),
    ('ports', ['abc'], 'expected [[ip:][host_port]:]container_port'),
    ('ports', ['80/icmp'], 'expected [[ip:][host_port]:]container_port'),
    ('ports', ['8000-8002:90-91'], 'ranges differ in length'),
    ('volumes', ['/srv/data:'], 'container path is missing'),
    ('volumes', ['/srv/data:relative'], "container path 'relative' must be absolute"),
    ('volumes', ['data'], 'must be absolute'),
    ('volumes', ['./data:/data'], "host path './data' is relative"),
    ('volumes', ['srv/data:/data'], "host path 'srv/data' is relative"),
    ('volumes', ['/a:/data:bogus'], "unknown volume option 'bogus'"),
    ('volumes', ['/a:/data', '/b:/data/'], 'mounted more than once'),
    ('volumes', ['/a:/b:ro:x'], 'expected [source:]container_path[:options]'),
    ('env', {'A': True}, 'boolean; quote it ("true")'),
    ('env', ['A=1'], 'expected a dictionary'),
    ('restart_policy', 'sometimes', 'expected one of no, always, on-failure, unless-stopped'),
    ('restart_policy', 'always:3', 'only on-failure takes a retry count'),
    ('stop_signal', 'SIGBOGUS', 'unknown signal'),
    ('stop_timeout', -1, 'expected a whole number >= 0'),
    ('memory', 'lots', 'expected bytes or a number with a unit'),
    ('memory', '1k', 'podman needs at least 6m'),
    ('cpus', 0, 'expected a number of CPUs > 0'),
    ('healthcheck', {'interval': '5s'}, 'test is required'),
    ('healthcheck', {'test': 'x', 'interval': '5 minutes'}, 'expected a duration'),
    ('healthcheck', {'test': 'x', 'bogus': 1}, 'unknown keys bogus'),
    ('network', ['host', 'mynet'], 'cannot be combined'),
])
def test_validation(key, value, fragment):
    with pytest.raises(ConfigError) as err:
        spec(**{key: value})
    assert fragment in err.value.msg
    assert err.value.msg.startswith('invalid %s' % key)
    assert err.value.details['option'].startswith(key)


@pytest.mark.parametrize('name', ['', '-web', 'we b', 'a/b'])
def test_invalid_name(name):
    with pytest.raises(ConfigError, match='invalid container name'):
        ContainerSpec.from_params({'name': name, 'image': IMAGE})


# -- podman create argv ----------------------------------------------------------------------------------

def test_create_args_full():
    args = spec(**FULL).create_args()
    assert args == [
        '--name', 'web',
        '--entrypoint', '["/bin/sh", "-c"]',
        '--env', 'FOO=bar', '--env', 'X=1',
        '--label', 'app=web',
        '--publish', '8080:80/tcp', '--publish', '127.0.0.1:9090:90/udp', '--publish', '7000/tcp',
        '--volume', '/anon', '--volume', '/tmp/pk:/data:ro', '--volume', 'fxnamedvol:/vol',
        '--user', '1000:1000', '--workdir', '/srv', '--hostname', 'fxhost',
        '--restart', 'on-failure:3', '--stop-signal', '2', '--stop-timeout', '5',
        '--memory', '536870912', '--cpus', '1.5',
        '--health-cmd', '/bin/true', '--health-interval', '30s',
        IMAGE, 'echo hi; sleep 1000',
    ]


def test_create_args_minimal_and_special_forms():
    assert spec().create_args() == ['--name', 'web', IMAGE]
    args = spec(ports=['[::1]::80'], healthcheck={'test': ['CMD', 'a', 'b'], 'timeout': '1500ms'}).create_args()
    assert args[args.index('--publish') + 1] == '[::1]::80/tcp'
    assert args[args.index('--health-cmd') + 1] == '["a", "b"]'
    assert args[args.index('--health-timeout') + 1] == '1500ms'
    assert '--no-healthcheck' in spec(healthcheck={'test': 'NONE'}).create_args()


# -- comparison against real inspect output ----------------------------------------------------------------

def test_full_container_has_no_drift():
    assert spec(**FULL).compare(load('container-fxfull'), load('image-busybox')) == []


def test_unset_options_never_drift():
    # Every option of fxfull differs from the image defaults, but none is set here.
    assert spec().compare(load('container-fxfull'), load('image-busybox')) == []


def test_plain_container_against_image_defaults():
    plain = load('container-fxplain')
    # Values equal to podman's and the image's defaults are not drift.
    same = spec(command=['/bin/sleep', '3600'], stop_signal='SIGTERM', stop_timeout=10, restart_policy='no',
                memory=0, workdir='/', env={'TERM': 'xterm'}, ports=[], volumes=[])
    assert same.compare(plain, load('image-busybox')) == []


@pytest.mark.parametrize('key, value, before, after', [
    ('env', {'FOO': 'baz'}, {'FOO': 'bar'}, {'FOO': 'baz'}),
    ('env', {'NEW': '1'}, {'NEW': None}, {'NEW': '1'}),
    ('labels', {'app': 'api'}, {'app': 'web'}, {'app': 'api'}),
    # the before side shows the random host port podman picked for "7000"
    ('ports', ['8080:80'], ['8080:80/tcp', '127.0.0.1:9090:90/udp', '34723:7000/tcp'], ['8080:80/tcp']),
    ('ports', ['8080:80', '127.0.0.1:9090:90/udp', '7001'], None, None),
    ('ports', ['8081:80', '127.0.0.1:9090:90/udp', '7000'], None, None),
    ('volumes', ['/tmp/pk:/data', 'fxnamedvol:/vol', '/anon'], None, None),
    ('volumes', ['/tmp/pk:/data:ro', 'othervol:/vol', '/anon'], None, None),
    ('volumes', ['/tmp/pk:/data:ro', 'fxnamedvol:/vol'], None, None),
    ('command', 'sleep 1', ['echo hi; sleep 1000'], ['sleep', '1']),
    ('entrypoint', ['/bin/sh'], ['/bin/sh', '-c'], ['/bin/sh']),
    ('user', 'root', '1000:1000', 'root'),
    ('workdir', '/', '/srv', '/'),
    ('hostname', 'other', 'fxhost', 'other'),
    ('restart_policy', 'always', 'on-failure:3', 'always'),
    ('stop_signal', 'TERM', 'SIGINT', 'SIGTERM'),
    ('stop_timeout', 10, 5, 10),
    ('memory', '256m', 536870912, 268435456),
    ('cpus', 2, 1.5, 2.0),
    ('network', ['none'], None, None),
    ('healthcheck', {'test': '/bin/false'}, {'test': ['CMD-SHELL', '/bin/true']}, {'test': ['CMD-SHELL', '/bin/false']}),
    ('healthcheck', {'test': '/bin/true', 'interval': '10s'}, None, None),
])
def test_drift(key, value, before, after):
    options = dict(FULL)
    options[key] = value
    differences = spec(**options).compare(load('container-fxfull'), load('image-busybox'))
    assert [d['key'] for d in differences] == [key]
    if before is not None:
        assert differences[0]['before'] == before
        assert differences[0]['after'] == after


def test_image_defaults_are_accounted_for():
    # fximg: image with ENV IMGVAR=img, LABEL imglabel=yes, WORKDIR /tmp, VOLUME /cache; created with
    # --label app=x --network none.
    container, image = load('container-fximg'), load('image-defaults')
    desired = spec(labels={'app': 'x'}, env={'IMGVAR': 'img'}, workdir='/tmp', volumes=[], network=['none'])
    assert desired.compare(container, image) == []
    # The image's anonymous /cache volume is not something the user asked for; without the image it is.
    assert [d['key'] for d in desired.compare(container, None)] == ['volumes']
    assert [d['key'] for d in spec(labels={'imglabel': 'no'}).compare(container, image)] == ['labels']
    assert [d['key'] for d in spec(network=['podman']).compare(container, image)] == ['network']


def test_network_names_against_bridge_container():
    container = load('container-fxplain')
    assert spec(network=['podman']).compare(container) == []
    assert spec(network=['bridge']).compare(container) == []
    assert [d['key'] for d in spec(network=['host']).compare(container)] == ['network']


def test_stop_signal_as_string_in_inspect():
    container = load('container-fxplain')
    container['Config']['StopSignal'] = 'SIGTERM'
    assert spec(stop_signal=15).compare(container) == []


def test_entrypoint_as_list_in_inspect():
    # podman 5 reports Entrypoint as a list.
    container = load('container-fxfull')
    container['Config']['Entrypoint'] = ['/bin/sh', '-c']
    assert spec(entrypoint='/bin/sh -c').compare(container) == []


def test_cpus_from_quota_when_nanocpus_is_zero():
    container = load('container-fxfull')
    container['HostConfig']['NanoCpus'] = 0
    assert spec(cpus=1.5).compare(container) == []


def test_display():
    shown = spec(ports=['8080:80'], stop_signal=2, cpus=0.5, restart_policy='on-failure:2').display()
    assert shown == {'ports': ['8080:80/tcp'], 'stop_signal': 'SIGINT', 'cpus': 0.5, 'restart_policy': 'on-failure:2'}


# Found by the final review: each of these raised a non-Podkit exception, or put env values into the message.
@pytest.mark.parametrize('params, message', [
    (dict(secrets=['a', 'a,target=/x']), 'a secret is listed more than once'),
    (dict(cpus='inf'), 'expected a number of CPUs'),
    (dict(cpus='nan'), 'expected a number of CPUs'),
    (dict(cpus='1e400'), 'expected a number of CPUs'),
    (dict(env={'DB_PASSWORD': 's3cr3t-value', 'FLAG': True}), "invalid env entry 'FLAG': the value is a boolean"),
    (dict(env={'DB_PASSWORD': 's3cr3t-value', '': 'x'}), "invalid env entry '': names must be non-empty"),
])
def test_bad_values_are_typed_errors_without_env_values(params, message):
    params = dict(params, name='web', image='img')
    with pytest.raises(ConfigError) as err:
        ContainerSpec.from_params(params)
    assert message in err.value.msg
    assert 's3cr3t-value' not in err.value.msg


def test_an_env_file_that_is_not_utf8_is_a_typed_error(tmp_path):
    path = tmp_path / 'bad.env'
    path.write_bytes(b'A=\xff\n')
    spec_ = ContainerSpec.from_params(dict(name='web', image='img', env_files=[str(path)]))
    with pytest.raises(ConfigError) as err:
        spec_.compare(json.loads(json.dumps({'Config': {'Env': []}, 'HostConfig': {}})))
    assert 'not UTF-8' in err.value.msg
