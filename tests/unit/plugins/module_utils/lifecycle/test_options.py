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
ENV_FILE = os.path.join(FIXTURES, 'fx.env')
ENV_FILE_CHANGED = os.path.join(FIXTURES, 'fx-changed.env')
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
    # fixtures/container-fxopts.json, fxpriv.json, fxidmap.json: made by `podman create` with the argv of these
    # very cases (ContainerSpec.create_args()), podman 4.3.1, image fixtures/image-base.json.
    'secrets': Case(['fxsec-file,target=/run/secrets/app,uid=1000,mode=0400', 'fxsec-env,type=env,target=DB_PASS'],
                    [('fxsec-env', 'env', 'DB_PASS', None, None, None), ('fxsec-file', 'mount', '/run/secrets/app', 1000, 0, 0o400)],
                    ['--secret', 'fxsec-env,type=env,target=DB_PASS',
                     '--secret', 'fxsec-file,target=/run/secrets/app,uid=1000,gid=0,mode=0400'],
                    ['Secret=fxsec-env,type=env,target=DB_PASS', 'Secret=fxsec-file,target=/run/secrets/app,uid=1000,gid=0,mode=0400'],
                    'container-fxopts', ['fxsec-file,target=/run/secrets/app,uid=1000,mode=0400'], 'image-base'),
    'cap_add': Case(['NET_ADMIN', 'sys_time'], ['CAP_NET_ADMIN', 'CAP_SYS_TIME'],
                    ['--cap-add', 'CAP_NET_ADMIN', '--cap-add', 'CAP_SYS_TIME'],
                    ['AddCapability=CAP_NET_ADMIN', 'AddCapability=CAP_SYS_TIME'], 'container-fxopts', ['NET_ADMIN'], 'image-base'),
    'cap_drop': Case(['CHOWN'], ['CAP_CHOWN'], ['--cap-drop', 'CAP_CHOWN'], ['DropCapability=CAP_CHOWN'], 'container-fxopts',
                     ['CHOWN', 'KILL'], 'image-base'),
    'devices': Case(['/dev/null:/dev/mynull:rw'], [('/dev/null', '/dev/mynull', 'rw')], ['--device', '/dev/null:/dev/mynull:rw'],
                    ['AddDevice=/dev/null:/dev/mynull:rw'], 'container-fxopts', ['/dev/null'], 'image-base'),
    'security_opt': Case(['no-new-privileges'], ['no-new-privileges'], ['--security-opt', 'no-new-privileges'],
                         ['PodmanArgs=--security-opt no-new-privileges'], 'container-fxopts', ['label=disable'], 'image-base'),
    'privileged': Case(True, True, ['--privileged=true'], ['PodmanArgs=--privileged=true'], 'container-fxpriv', False,
                       'image-base'),
    'read_only': Case(True, True, ['--read-only=true'], ['ReadOnly=true'], 'container-fxopts', False, 'image-base'),
    'tmpfs': Case(['/scratch:rw,size=64m,mode=1777'], [('/scratch', ('rw', 'size=64m', 'mode=1777'))],
                  ['--tmpfs', '/scratch:rw,size=64m,mode=1777'], ['Tmpfs=/scratch:rw,size=64m,mode=1777'], 'container-fxopts',
                  ['/scratch:rw,size=32m'], 'image-base'),
    'mounts': Case(['type=volume,src=fxmountvol,dst=/mnt/v', 'type=bind,source=/tmp/table-pm/,target=/mnt/b,ro'],
                   [('bind', '/tmp/table-pm', '/mnt/b', True, ()), ('volume', 'fxmountvol', '/mnt/v', False, ())],
                   ['--mount', 'type=bind,source=/tmp/table-pm,destination=/mnt/b,ro=true',
                    '--mount', 'type=volume,source=fxmountvol,destination=/mnt/v'],
                   ['Mount=type=bind,source=/tmp/table-pm,destination=/mnt/b,ro=true',
                    'Mount=type=volume,source=fxmountvol,destination=/mnt/v'],
                   'container-fxopts', ['type=bind,source=/tmp/table-pm,destination=/mnt/b'], 'image-base'),
    'ulimits': Case(['nofile=2048:4096'], [('nofile', 2048, 4096)], ['--ulimit', 'nofile=2048:4096'],
                    ['Ulimit=nofile=2048:4096'], 'container-fxopts', ['nofile=1024:4096'], 'image-base'),
    'sysctls': Case({'net.ipv4.ip_forward': 1}, {'net.ipv4.ip_forward': '1'}, ['--sysctl', 'net.ipv4.ip_forward=1'],
                    ['Sysctl=net.ipv4.ip_forward=1'], 'container-fxopts', {'net.ipv4.ip_forward': '0'}, 'image-base'),
    'shm_size': Case('128m', 134217728, ['--shm-size', '134217728'], ['ShmSize=134217728'], 'container-fxopts', '64m',
                     'image-base'),
    'pids_limit': Case(100, 100, ['--pids-limit', '100'], ['PidsLimit=100'], 'container-fxopts', 200, 'image-base'),
    'memory_reservation': Case('128m', 134217728, ['--memory-reservation', '134217728'],
                               ['PodmanArgs=--memory-reservation 134217728'], 'container-fxopts', '64m', 'image-base'),
    'memory_swap': Case('512m', 536870912, ['--memory-swap', '536870912'], ['PodmanArgs=--memory-swap 536870912'],
                        'container-fxopts', '-1', 'image-base'),
    'cpu_shares': Case(512, 512, ['--cpu-shares', '512'], ['PodmanArgs=--cpu-shares 512'], 'container-fxopts', 1024,
                       'image-base'),
    'cpuset_cpus': Case('0', '0', ['--cpuset-cpus', '0'], ['PodmanArgs=--cpuset-cpus 0'], 'container-fxopts', '0-1',
                        'image-base'),
    'dns': Case(['9.9.9.9', '1.1.1.1'], ['9.9.9.9', '1.1.1.1'], ['--dns', '9.9.9.9', '--dns', '1.1.1.1'],
                ['DNS=9.9.9.9', 'DNS=1.1.1.1'], 'container-fxopts', ['1.1.1.1', '9.9.9.9'], 'image-base'),
    'dns_search': Case(['example.org'], ['example.org'], ['--dns-search', 'example.org'], ['DNSSearch=example.org'],
                       'container-fxopts', ['example.com'], 'image-base'),
    'dns_option': Case(['ndots:2'], ['ndots:2'], ['--dns-option', 'ndots:2'], ['DNSOption=ndots:2'], 'container-fxopts',
                       ['ndots:3'], 'image-base'),
    'add_hosts': Case(['db.local:10.0.0.5'], ['db.local:10.0.0.5'], ['--add-host', 'db.local:10.0.0.5'],
                      ['PodmanArgs=--add-host db.local:10.0.0.5'], 'container-fxopts', ['db.local:10.0.0.6'], 'image-base'),
    'network_aliases': Case(['db.internal', 'db'], ['db', 'db.internal'], ['--network-alias', 'db', '--network-alias', 'db.internal'],
                            ['NetworkAlias=db', 'NetworkAlias=db.internal'], 'container-fxopts', ['db'], 'image-base'),
    # fxaddr runs (its networks have the addresses), fxaddr2 was only created (podman's record has them).
    'ip': Case('10.89.77.10', '10.89.77.10', ['--ip', '10.89.77.10'], ['IP=10.89.77.10'], 'container-fxaddr', '10.89.77.11',
               'image-base'),
    'mac_address': Case('92:D0:C6:0A:29:34', '92:d0:c6:0a:29:34', ['--mac-address', '92:d0:c6:0a:29:34'],
                        ['PodmanArgs=--mac-address 92:d0:c6:0a:29:34'], 'container-fxaddr2', '92:d0:c6:0a:29:33', 'image-base'),
    'pod': Case('fxpod', 'fxpod', ['--pod', 'fxpod'], ['Pod=fxpod'], 'container-fxinpod', 'otherpod', 'image-base'),
    'publish_all': Case(True, True, ['--publish-all=true'], ['PodmanArgs=--publish-all=true'], 'container-fxpriv', False,
                        'image-base'),
    'group_add': Case(['42'], ['42'], ['--group-add', '42'], ['GroupAdd=42'], 'container-fxopts', ['43'], 'image-base'),
    'init': Case(True, True, ['--init=true'], ['RunInit=true'], 'container-fxopts', False, 'image-base'),
    'tty': Case(True, True, ['--tty=true'], ['PodmanArgs=--tty=true'], 'container-fxopts', False, 'image-base'),
    'interactive': Case(True, True, ['--interactive=true'], ['PodmanArgs=--interactive=true'], 'container-fxopts', False,
                        'image-base'),
    'annotations': Case({'anno.x': 1}, {'anno.x': '1'}, ['--annotation', 'anno.x=1'], ['Annotation=anno.x=1'],
                        'container-fxopts', {'anno.x': '2'}, 'image-base'),
    'log_driver': Case('json-file', 'k8s-file', ['--log-driver', 'k8s-file'], ['LogDriver=k8s-file'], 'container-fxopts',
                       'journald', 'image-base'),
    'log_opt': Case({'max_size': '10mb', 'tag': 'fxtag'}, {'max-size': '10mb', 'tag': 'fxtag'},
                    ['--log-opt', 'max-size=10mb', '--log-opt', 'tag=fxtag'], ['LogOpt=max-size=10mb', 'LogOpt=tag=fxtag'],
                    'container-fxopts', {'max-size': '20mb'}, 'image-base'),
    'timezone': Case('Europe/Berlin', 'Europe/Berlin', ['--tz', 'Europe/Berlin'], ['Timezone=Europe/Berlin'],
                     'container-fxopts', 'UTC', 'image-base'),
    'env_files': Case([ENV_FILE], [ENV_FILE], ['--env-file', ENV_FILE], ['EnvironmentFile=' + ENV_FILE], 'container-fxopts',
                      [ENV_FILE_CHANGED], 'image-base'),
    'userns': Case('host', 'host', ['--userns', 'host'], ['UserNS=host'], 'container-fxpriv', 'private', 'image-base'),
    'uidmap': Case(['0:100000:65536'], ['0:100000:65536'], ['--uidmap', '0:100000:65536'], ['UIDMap=0:100000:65536'],
                   'container-fxidmap', ['0:100000:1000'], 'image-base'),
    'gidmap': Case(['0:200000:65536'], ['0:200000:65536'], ['--gidmap', '0:200000:65536'], ['GIDMap=0:200000:65536'],
                   'container-fxidmap', ['0:100000:65536'], 'image-base'),
    'extra_args': Case(['--ipc', 'private', '--oom-score-adj=100'], ['--ipc', 'private', '--oom-score-adj=100'],
                       ['--ipc', 'private', '--oom-score-adj=100'], ['PodmanArgs=--ipc private', 'PodmanArgs=--oom-score-adj=100'],
                       'container-fxpriv', ['--ipc', 'host'], 'image-base'),
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
    ({'bogus': 1, 'env': {}}, 'spec: unknown option bogus (its keys are the container options of the module)'),
    ({'volume': ['/a:/b']}, 'spec: unknown option volume (its keys are the container options of the module; did you mean volumes?)'),
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


# -- what the per-row cases do not show ------------------------------------------------------------------

def test_addresses_before_and_after_the_start():
    assert _spec('ip', '10.89.77.11').compare(load('container-fxaddr2')) == []
    assert _spec('mac_address', '92:d0:c6:0a:29:33').compare(load('container-fxaddr')) == []
    # a pod is named by its id too
    assert _spec('pod', '6a616e70ee204f757d8b').compare(load('container-fxinpod')) == []


def test_healthcheck_on_failure_against_real_inspect():
    container, image = load('container-fxopts'), load('image-base')
    assert _spec('healthcheck', {'test': 'true', 'on_failure': 'restart'}).compare(container, image) == []
    drift = _spec('healthcheck', {'test': 'true', 'on_failure': 'kill'}).compare(container, image)
    assert drift == [{'key': 'healthcheck', 'before': {'test': ['CMD-SHELL', 'true'], 'on_failure': 'restart'},
                      'after': {'test': ['CMD-SHELL', 'true'], 'on_failure': 'kill'}}]
    assert 'HealthOnFailure=kill' in _container_lines(systemd.render_quadlet(
        systemd.container_spec('web', {'image': IMAGE, 'healthcheck': {'test': 'true', 'on_failure': 'kill'}}),
        systemd.UnitOptions('web'), version='4.5'))


def test_volumes_and_mounts_of_one_container():
    # fxopts has the volume fxnamedvol:/vol and the --mount destinations /mnt/b and /mnt/v: each option sees its own.
    container, image = load('container-fxopts'), load('image-base')
    both = spec.ContainerSpec.from_params({'name': 'web', 'image': IMAGE, 'volumes': ['fxnamedvol:/vol'],
                                           'mounts': CASES['mounts'].value})
    assert both.compare(container, image) == []
    # without mounts, the --mount destinations are mounts the volumes option did not ask for
    assert [d['key'] for d in _spec('volumes', ['fxnamedvol:/vol']).compare(container, image)] == ['volumes']


def test_sysctls_from_the_oci_configuration(tmp_path):
    container = load('container-fxopts')
    config = tmp_path / 'config.json'
    config.write_text(u'{"linux": {"sysctl": {"net.ipv4.ip_forward": "0"}}}')
    container['OCIConfigPath'] = str(config)
    # once started, the OCI configuration is what the kernel got, whatever the command line said
    assert [d['key'] for d in _spec('sysctls', {'net.ipv4.ip_forward': '1'}).compare(container)] == ['sysctls']
    assert _spec('sysctls', {'net.ipv4.ip_forward': '0'}).compare(container) == []


def test_env_files_drift_names_variables_never_values():
    drift = _spec('env_files', [ENV_FILE_CHANGED]).compare(load('container-fxopts'), load('image-base'))
    assert drift == [{'key': 'env_files', 'before': ['OTHER'], 'after': [ENV_FILE_CHANGED]}]


def test_env_file_that_cannot_be_read():
    with pytest.raises(ConfigError) as err:
        _spec('env_files', ['/nonexistent/app.env']).compare(load('container-fxopts'), load('image-base'))
    assert err.value.msg == 'env_files: cannot read /nonexistent/app.env: No such file or directory'


def test_secret_values_are_never_shown():
    container = load('container-fxopts')
    shown = json.dumps(_spec('secrets', ['fxsec-env,type=env,target=OTHER_NAME']).compare(container, load('image-base')))
    assert 'fxsec-env,type=env,target=OTHER_NAME' in shown and 'envval' not in shown and 'mountval' not in shown


@pytest.mark.parametrize('key, desired, equal', [
    ('env', {'FOO': 'bar', 'X': '1'}, True),
    ('env', {'FOO': 'bar'}, False),          # X is in the container, not in the task
    ('labels', {'app': 'web'}, True),
    ('labels', {}, False),
])
def test_strict_comparison(key, desired, equal):
    desired_spec = spec.ContainerSpec.from_params({'name': 'web', 'image': IMAGE, key: desired,
                                                   'comparisons': {key: 'strict'}})
    differences = desired_spec.compare(load('container-fxfull'), load('image-busybox'))
    assert (differences == []) is equal
    # today's rule, the default: only the keys given count
    assert _spec(key, desired).compare(load('container-fxfull'), load('image-busybox')) == []


def test_strict_annotations_ignore_podmans_own():
    container = load('container-fxopts')
    strict = {'comparisons': {'annotations': 'strict'}, 'name': 'web', 'image': IMAGE}
    assert spec.ContainerSpec.from_params(dict(strict, annotations={'anno.x': '1'})).compare(container) == []
    assert [d['key'] for d in spec.ContainerSpec.from_params(dict(strict, annotations={})).compare(container)] == ['annotations']


@pytest.mark.parametrize('params, fragment', [
    ({'comparisons': {'ports': 'strict'}}, 'comparisons: ports cannot be compared strictly (only env, labels, annotations)'),
    ({'comparisons': {'env': 'loose'}}, "comparisons: env is 'loose'; expected one of subset, strict"),
    ({'comparisons': {'env': 'strict'}, 'env_files': ['/a.env']},
     'comparisons: env cannot be strict together with env_files or secrets of type env'),
])
def test_comparisons_refused(params, fragment):
    with pytest.raises(ConfigError) as err:
        spec.ContainerSpec.from_params(dict(params, name='web', image=IMAGE))
    assert err.value.msg == fragment


@pytest.mark.parametrize('key, value, fragment', [
    ('secrets', ['-bad'], 'the secret name must come first'),
    ('secrets', ['s,type=file'], 'type is mount or env'),
    ('secrets', ['s,type=env,mode=0400'], 'uid, gid and mode apply to mounted secrets only'),
    ('secrets', ['s,mode=rw'], 'mode must be a number in octal (0400)'),
    ('secrets', ['s', 's,type=env'], 'a secret is listed more than once'),
    ('secrets', ['s,bogus=1'], 'expected name followed by type/target/uid/gid/mode=value'),
    ('cap_add', ['NET ADMIN'], 'expected a capability name'),
    ('devices', ['dev/null'], 'expected /dev/host_path'),
    ('devices', ['/dev/null:/dev/x:rwx'], 'permissions are a combination of r, w and m'),
    ('tmpfs', ['run'], 'expected /container/path[:options]'),
    ('mounts', ['type=bind,destination=/x'], 'a bind mount needs an absolute source path'),
    ('mounts', ['source=/a,destination=/x'], 'expected type=bind|volume|tmpfs'),
    ('mounts', ['type=volume,source=v,destination=x'], 'destination must be an absolute path'),
    ('mounts', ['type=tmpfs,destination=/x', 'type=tmpfs,dst=/x'], 'a destination is mounted more than once'),
    ('ulimits', ['nofiles=10'], 'expected name=soft[:hard]'),
    ('ulimits', ['nofile=20:10'], 'the soft limit is above the hard limit'),
    ('shm_size', 'big', 'expected bytes or a number with a unit'),
    ('pids_limit', -5, 'expected a whole number >= 0'),
    ('cpu_shares', 1, 'expected a whole number >= 2'),
    ('cpuset_cpus', '3-1', 'expected CPU numbers and ranges'),
    ('add_hosts', ['db.local'], 'expected host:ip'),
    ('log_driver', 'syslog', 'expected one of k8s-file, journald, none, passthrough, json-file'),
    ('log_opt', {'max_size': 'huge'}, 'max-size is a size such as 10mb'),
    ('privileged', 'yes', 'expected true or false'),
    ('env_files', ['relative.env'], 'use an absolute path'),
    ('uidmap', ['0:100000'], 'expected container_id:host_id:amount'),
    ('extra_args', ['sleep'], 'the first word must be an option'),
    ('extra_args', ['--rm'], '--rm is set by the collection itself'),
    ('healthcheck', {'test': 'x', 'on_failure': 'explode'}, 'expected one of none, kill, restart, stop'),
    ('ip', '10.89.77', 'expected an IPv4 address'),
    ('mac_address', '92:d0:c6:0a:29', 'expected a MAC address'),
])
def test_validation_of_new_options(key, value, fragment):
    with pytest.raises(ConfigError) as err:
        _spec(key, value)
    assert fragment in err.value.msg, err.value.msg
    assert err.value.msg.startswith('invalid %s' % key)


@pytest.mark.parametrize('key, value, canonical', [
    ('cpuset_cpus', '4,0-1,2', '0-2,4'),
    ('ulimits', ['nofile=-1', 'nproc=10'], [('nofile', -1, -1), ('nproc', 10, 10)]),
    ('devices', ['/dev/fuse'], [('/dev/fuse', '/dev/fuse', '')]),
    ('devices', ['/dev/fuse:rw'], [('/dev/fuse', '/dev/fuse', 'rw')]),
    ('secrets', ['token'], [('token', 'mount', None, 0, 0, 0o444)]),
    ('secrets', ['token,type=env'], [('token', 'env', 'token', None, None, None)]),
    ('mounts', ['type=tmpfs,destination=/cache,tmpfs-size=1m'], [('tmpfs', None, '/cache', False, ('tmpfs-size=1m',))]),
    ('memory_swap', -1, -1),
    ('extra_args', '--ipc host', ['--ipc', 'host']),
])
def test_normalise_new_options(key, value, canonical):
    assert _spec(key, value).options[key] == canonical
