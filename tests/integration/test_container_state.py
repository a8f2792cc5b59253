"""container_state on real podman (root, and rootless as a throw-away user): every lifecycle transition,
config drift -> recreate, the four steps (check, apply, check, apply) and bad input.

The images come from the shared ``images`` fixture (images.base: busybox, CMD ["/bin/sh"]); containers run
LOOP, a shell that exits 0 on SIGTERM, so a graceful stop (exit 0) is told apart from a kill (137).
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid

import pytest

from ansible_runner import task_results
from registry_server import free_port
from tools import PODMAN5_OPTIONS_PENDING, podman, podman_version

LOOP = ['/bin/sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.2; done']


def inspect(name, env=None):
    proc = podman('container', 'inspect', name, check=False, env=env)
    return json.loads(proc.stdout)[0] if proc.returncode == 0 else None


def status(name, env=None):
    data = inspect(name, env)
    return data['State']['Status'] if data else 'absent'


@pytest.fixture
def cname():
    """A unique container name, removed (with its anonymous volumes) after the test."""
    names = []

    def make(prefix='podkit-cs'):
        name = '%s-%s' % (prefix, uuid.uuid4().hex[:8])
        names.append(name)
        return name

    yield make
    for name in names:
        podman('rm', '--force', '--volumes', '--time', '0', name, check=False)


@pytest.fixture
def base_args(images):
    return dict(image=images.base, command=LOOP, stop_timeout=5, network=['none'])


def run_steps(run_playbook, tmp_path, name, steps, play_extra=None, probe=None):
    """Run ``steps`` [(label, module args, check mode)] as one playbook; returns {label: (task result, podman
    status after it)}. The status comes from a ``podman container inspect`` task after every check-mode step
    and every label in ``probe`` (None elsewhere: the module's own ``container.state`` says it there)."""
    module = 'podkit.containers.container_state'
    tasks = []
    probed = set(probe or ())
    for label, args, check in steps:
        tasks.append({'name': label, module: args, 'check_mode': check})
        if check or label in probed:
            probed.add(label)
            tasks.append({'name': label + ' / inspect', 'ansible.builtin.command': {'argv': ['podman', 'container', 'inspect', name]},
                          'check_mode': False, 'changed_when': False, 'failed_when': False})
    play = dict({'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}, **(play_extra or {}))
    playbook = tmp_path / ('steps-%s.yml' % uuid.uuid4().hex[:6])
    playbook.write_text(json.dumps([play]))
    kw = {}
    if play_extra:
        # become: the system python (root's venv is not readable by the user), pipelined (no temp files).
        kw = {'extra_vars': {'ansible_python_interpreter': '/usr/bin/python3'}, 'env': {'ANSIBLE_PIPELINING': '1'}}
    parsed, proc = run_playbook(str(playbook), diff=True, **kw)
    results = task_results(parsed)
    out = {}
    for label, _args, _check in steps:
        assert label in results, (label, results, proc.stdout[-3000:], proc.stderr)
        assert results[label].get('failed') is not True, results[label]
        state = None
        if label in probed:
            inspected = results[label + ' / inspect']
            state = json.loads(inspected['stdout'])[0]['State']['Status'] if inspected.get('rc') == 0 else 'absent'
        out[label] = (results[label], state)
    return out


def four_steps(run_playbook, tmp_path, args, actions, podman_before, podman_after, play_extra=None, prelude=None):
    """check -> apply -> check -> apply in one playbook (after the ``prelude`` steps), asserting
    changed/actions/diff and podman's view. Returns the (check, apply) results.
    """
    steps = [('check', args, True), ('apply', args, False), ('check again', args, True), ('apply again', args, False)]
    res = run_steps(run_playbook, tmp_path, args['name'], (prelude or []) + steps, play_extra, probe=['apply', 'apply again'])
    (check, after_check), (applied, after_apply) = res['check'], res['apply']
    assert check['changed'] is True and check['actions'] == actions, check
    assert after_check == podman_before, 'check mode changed the container'
    assert applied['changed'] is True and applied['actions'] == actions, applied
    assert after_apply == podman_after
    assert applied['diff'] == check['diff']
    for label in ('check again', 'apply again'):
        result, after = res[label]
        assert result['changed'] is False and result['actions'] == [], result
        assert result['diff']['before'] == result['diff']['after']
        if after is not None:
            assert after == podman_after
    return check, applied


def test_lifecycle_transitions(run_playbook, tmp_path, cname, base_args):
    name = cname()
    args = dict(base_args, name=name)

    # The main states, four steps each: absent -> created -> running -> paused, then stopped and absent below.
    check, applied = four_steps(run_playbook, tmp_path, dict(args, state='present'), ['create'], 'absent', 'created')
    assert check['container'] == {}
    assert check['diff']['before'] == {'state': 'absent'}
    assert check['diff']['after']['state'] == 'created'
    assert check['diff']['after']['command'] == LOOP
    assert applied['container']['state'] == 'created' and applied['container']['name'] == name
    created_id = applied['container']['id']

    _check, applied = four_steps(run_playbook, tmp_path, dict(args, state='started'), ['start'], 'created', 'running')
    assert applied['diff'] == {'before': {'state': 'created'}, 'after': {'state': 'running'}}
    assert applied['container']['id'] == created_id

    four_steps(run_playbook, tmp_path, dict(args, state='paused'), ['pause'], 'running', 'paused')

    # The other transitions, check then apply, in one playbook.
    res = run_steps(run_playbook, tmp_path, name, [
        ('paused, present', dict(args, state='present'), False),
        ('unpause check', dict(args, state='started'), True),
        ('unpause', dict(args, state='started'), False),
        ('stop', dict(args, state='stopped'), False),
        ('start from exited', dict(args, state='started'), False),
        ('pause again', dict(args, state='paused'), False),
        ('paused to stopped check', dict(args, state='stopped'), True),
        ('paused to stopped', dict(args, state='stopped'), False),
        ('start again', dict(args, state='started'), False),
        ('kill check', dict(args, state='stopped', force_kill=True), True),
        ('kill', dict(args, state='stopped', force_kill=True), False),
        ('restart check', dict(args, state='restarted'), True),
        ('restart exited', dict(args, state='restarted'), False),
        ('restart running', dict(args, state='restarted'), False),
    ], probe=['kill', 'restart running'])
    expected = [
        ('paused, present', [], 'paused'),          # present leaves the run state alone
        ('unpause check', ['unpause'], 'paused'),
        ('unpause', ['unpause'], 'running'),
        ('stop', ['stop'], 'exited'),
        ('start from exited', ['start'], 'running'),
        ('pause again', ['pause'], 'paused'),
        # podman 4.3 cannot stop a paused container, so it is unpaused first
        ('paused to stopped check', ['unpause', 'stop'], 'paused'),
        ('paused to stopped', ['unpause', 'stop'], 'exited'),
        ('start again', ['start'], 'running'),
        ('kill check', ['kill'], 'running'),
        ('kill', ['kill'], 'exited'),
        ('restart check', ['restart'], 'exited'),
        ('restart exited', ['restart'], 'running'),
        ('restart running', ['restart'], 'running'),     # restarted always restarts
    ]
    for label, actions, after in expected:
        result, probed = res[label]
        state = probed if probed is not None else result['container']['state']
        assert (label, result['actions'], result['changed'], state) == (label, actions, bool(actions), after), result
    assert res['unpause'][0]['diff'] == {'before': {'state': 'paused'}, 'after': {'state': 'running'}}
    # SIGTERM: the loop exits 0 well before stop_timeout; SIGKILL: 137.
    assert res['stop'][0]['container']['exit_code'] == 0
    assert res['paused to stopped'][0]['container']['exit_code'] == 0
    assert res['kill'][0]['container']['exit_code'] == 137
    assert res['restart running'][0]['container']['started_at'] != res['restart exited'][0]['container']['started_at']
    assert res['restart running'][0]['container']['id'] == created_id

    # running -> stopped and -> absent (stopped gracefully first, then removed), four steps each.
    _check, applied = four_steps(run_playbook, tmp_path, dict(args, state='stopped'), ['stop'], 'running', 'exited')
    assert applied['diff'] == {'before': {'state': 'running'}, 'after': {'state': 'exited'}}
    _check, applied = four_steps(run_playbook, tmp_path, dict(name=name, state='absent'), ['stop', 'remove'], 'running', 'absent',
                                 prelude=[('start', dict(args, state='started'), False)])
    assert applied['container'] == {}
    assert applied['diff'] == {'before': {'state': 'running'}, 'after': {'state': 'absent'}}


def test_paused_to_absent_with_force_and_absent_to_paused(run_playbook, tmp_path, cname, base_args):
    name = cname()
    args = dict(base_args, name=name)
    four_steps(run_playbook, tmp_path, dict(args, state='paused'), ['create', 'start', 'pause'], 'absent', 'paused')
    four_steps(run_playbook, tmp_path, dict(name=name, state='absent', force=True), ['remove'], 'paused', 'absent')


def _with_ports(spec, ports):
    for placeholder, port in ports.items():
        spec = spec.replace(placeholder, port)
    return spec


@pytest.mark.parametrize('key, first, second', [
    ('env', {'MODE': 'one'}, {'MODE': 'two'}),
    ('labels', {'tier': 'web'}, {'tier': 'api'}),
    # PORT1/PORT2: free ports chosen at run time (both platforms and parallel runs share 127.0.0.1)
    ('ports', ['127.0.0.1:PORT1:80'], ['127.0.0.1:PORT2:80']),
    ('command', LOOP, ['/bin/sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.3; done']),
])
def test_drift_recreates(run_playbook, tmp_path, cname, base_args, key, first, second):
    name = cname()
    args = dict(base_args, name=name, state='started')
    if key == 'ports':
        args.pop('network')
        ports = {'PORT1': str(free_port()), 'PORT2': str(free_port())}
        first, second = ([_with_ports(p, ports) for p in first], [_with_ports(p, ports) for p in second])
    first_args = dict(args, **{key: first})
    args[key] = second
    check, applied = four_steps(run_playbook, tmp_path, args, ['recreate', 'start'], 'running', 'running',
                                prelude=[('create', first_args, False)])
    assert check['diff']['before'][key] != check['diff']['after'][key]
    assert set(check['diff']['before']) == set(['state', key])
    old_id = check['container']['id']
    assert applied['container']['id'] != old_id
    data = inspect(name)
    if key == 'env':
        assert 'MODE=two' in data['Config']['Env']
    elif key == 'labels':
        assert data['Config']['Labels']['tier'] == 'api'
    elif key == 'ports':
        assert data['HostConfig']['PortBindings'] == {'80/tcp': [{'HostIp': '127.0.0.1', 'HostPort': ports['PORT2']}]}
    else:
        assert data['Config']['Cmd'] == second


def test_image_defaults_and_unset_options_are_not_drift(run_playbook, tmp_path, cname, images):
    # images.base has ENV FOO=bar and LABEL org.example.test=1; podman adds PATH, TERM, container, HOSTNAME.
    name = cname()
    args = dict(name=name, image=images.base, command=LOOP, network=['none'], state='started', stop_timeout=5,
                env={'FOO': 'bar', 'MINE': '1'}, labels={'org.example.test': '1', 'mine': 'x'},
                memory='64m', cpus=0.5, restart_policy='on-failure:2', stop_signal='SIGTERM')
    res = run_steps(run_playbook, tmp_path, name, [
        ('create', args, False),
        ('check', args, True),
        # Fewer options is not drift either.
        ('fewer options', dict(name=name, image=images.base, state='started'), False),
    ])
    assert res['create'][0]['actions'] == ['create', 'start']
    assert res['check'][0]['changed'] is False and res['check'][0]['actions'] == []
    assert res['fewer options'][0]['changed'] is False


def test_spec_dictionary(run_playbook, tmp_path, cname, images):
    # The container as one dictionary (what the container_service role passes through): four steps, no drift after.
    name = cname()
    args = dict(name=name, image=images.base, state='started',
                spec=dict(command=LOOP, network=['none'], stop_timeout=5, env={'MODE': 'spec'}, hostname='fromspec'))
    check, applied = four_steps(run_playbook, tmp_path, args, ['create', 'start'], 'absent', 'running')
    assert check['diff']['after']['env'] == {'MODE': 'spec'} and check['diff']['after']['hostname'] == 'fromspec'
    data = inspect(name)
    assert 'MODE=spec' in data['Config']['Env'] and data['Config']['Hostname'] == 'fromspec'


@pytest.fixture
def option_groups(tmp_path, cname):
    """Secrets, a network, a volume, a bind directory and an env file for a container of every option group."""
    tag = uuid.uuid4().hex[:8]
    made = {'secret_file': 'podkit-tbl-file-%s' % tag, 'secret_env': 'podkit-tbl-env-%s' % tag,
            'network': 'podkit-tbl-%s' % tag, 'volume': 'podkit-tbl-vol-%s' % tag,
            'values': ('file-secret-%s' % uuid.uuid4().hex, 'env-secret-%s' % uuid.uuid4().hex)}
    for name, value in ((made['secret_file'], made['values'][0]), (made['secret_env'], made['values'][1])):
        # the value goes in on stdin, never on a command line
        subprocess.run(['podman', 'secret', 'create', name, '-'], input=value, universal_newlines=True, check=True,
                       stdout=subprocess.PIPE)
    podman('network', 'create', made['network'])
    bind = tmp_path / 'bind'
    bind.mkdir()
    (bind / 'hello').write_text(u'hi\n')
    made['bind'] = str(bind)
    made['env_file'] = str(tmp_path / 'app.env')
    with open(made['env_file'], 'w') as handle:
        handle.write('# the application\nAPP_MODE=one\n')
    made['name'] = cname()
    yield made
    # the container first: the network, volume and secrets are in use until it is gone
    podman('rm', '--force', '--time', '0', made['name'], check=False)
    podman('network', 'rm', made['network'], check=False)
    podman('volume', 'rm', made['volume'], check=False)
    podman('secret', 'rm', made['secret_file'], made['secret_env'], check=False)


def test_every_option_group(run_playbook, tmp_path, images, option_groups):
    if podman_version() >= (5, 0):
        pytest.skip(PODMAN5_OPTIONS_PENDING)
    made = option_groups
    name = made['name']
    args = dict(
        name=name, image=images.base, command=LOOP, state='started', stop_timeout=5, network=[made['network']],
        # security
        secrets=['%s,target=/run/secrets/app,mode=0400' % made['secret_file'],
                 '%s,type=env,target=DB_PASSWORD' % made['secret_env']],
        cap_add=['NET_ADMIN'], cap_drop=['MKNOD'], devices=['/dev/null:/dev/podkit-null'],
        security_opt=['no-new-privileges'], privileged=False, read_only=False,
        # file systems and limits
        tmpfs=['/scratch:rw,size=8m'], volumes=['%s:/data' % made['volume']],
        mounts=['type=bind,source=%s,destination=/mnt/bind,ro=true' % made['bind']],
        ulimits=['nofile=2048:4096', 'nproc=1024:1024'], sysctls={'net.ipv4.ip_forward': '1'}, shm_size='32m',
        pids_limit=200, memory='128m', memory_reservation='64m', memory_swap='256m', cpu_shares=512, cpuset_cpus='0',
        # network
        dns=['192.0.2.53'], dns_search=['podkit.test'], dns_option=['ndots:2'], add_hosts=['db.podkit.test:192.0.2.10'],
        network_aliases=['app'],
        # the process
        group_add=['42'], init=True, tty=True, interactive=True, annotations={'org.podkit.test': 'yes'},
        log_driver='k8s-file', log_opt={'max_size': '1mb'}, timezone='UTC', env_files=[made['env_file']],
        labels={'tier': 'app'}, comparisons={'labels': 'strict'},
        healthcheck={'test': 'true', 'interval': '1h', 'on_failure': 'none'},
        extra_args=['--oom-score-adj=100'],
    )
    check, applied = four_steps(run_playbook, tmp_path, args, ['create', 'start'], 'absent', 'running')
    # the secrets' values are in no result (podman itself shows an env secret in inspect's Env once started)
    assert not [v for v in made['values'] if v in json.dumps([check, applied])]
    for key in ('secrets', 'cap_add', 'tmpfs', 'mounts', 'ulimits', 'dns', 'network_aliases', 'init', 'env_files',
                'extra_args'):
        assert key in check['diff']['after'], key
    data = inspect(name)
    host = data['HostConfig']
    assert host['CapAdd'] == ['CAP_NET_ADMIN'] and host['CapDrop'] == ['CAP_MKNOD'] and host['Init'] is True
    assert {'Name': 'RLIMIT_NOFILE', 'Soft': 2048, 'Hard': 4096} in host['Ulimits']
    assert host['Dns'] == ['192.0.2.53'] and host['ExtraHosts'] == ['db.podkit.test:192.0.2.10']
    assert 'APP_MODE=one' in data['Config']['Env']
    assert podman('exec', name, 'cat', '/run/secrets/app').stdout == made['values'][0]
    assert podman('exec', name, 'cat', '/mnt/bind/hello').stdout == 'hi\n'
    limits = [line.split() for line in podman('exec', name, 'cat', '/proc/1/limits').stdout.splitlines()]
    assert ['Max', 'open', 'files', '2048', '4096', 'files'] in limits
    # A changed env file is drift, found by its content; the diff names the variable, not its value.
    with open(made['env_file'], 'w') as handle:
        handle.write('APP_MODE=two\n')
    res = run_steps(run_playbook, tmp_path, name, [('changed file', args, False), ('again', args, False)])
    changed, again = res['changed file'][0], res['again'][0]
    assert changed['actions'] == ['recreate', 'start'], changed
    assert changed['diff']['before']['env_files'] == ['APP_MODE']
    assert again['changed'] is False
    assert 'APP_MODE=two' in inspect(name)['Config']['Env']
    # A label added outside the task is drift under comparisons.labels=strict.
    podman('rm', '-f', '--time', '0', name)
    podman_args = ['create', '--name', name, '--network', made['network'], '--label', 'tier=app', '--label', 'extra=1',
                   images.base] + LOOP
    podman(*podman_args)
    res = run_steps(run_playbook, tmp_path, name, [('strict labels', args, True)])
    assert 'labels' in res['strict labels'][0]['diff']['before']


def test_image_change_recreates(run_playbook, tmp_path, cname, images):
    name = cname()
    first = dict(name=name, image=images.base, command=LOOP, network=['none'], state='started', stop_timeout=5)
    # app's ENTRYPOINT is /bin/busybox and its USER app
    args = dict(first, image=images.app, command=['sh', '-c', LOOP[2]], user='root')
    check, applied = four_steps(run_playbook, tmp_path, args, ['recreate', 'start'], 'running', 'running',
                                prelude=[('create', first, False)])
    assert 'image_id' in check['diff']['before'] and check['diff']['before']['image_id'] != check['diff']['after']['image_id']
    assert applied['container']['image'] == images.app


def test_container_created_outside_ansible_is_recreated(run_module, run_playbook, tmp_path, cname, images):
    # Decision: a same-named container is compared like any other; a different config means recreate.
    name = cname()
    podman('create', '--name', name, '--network', 'none', '--label', 'owner=someone-else', '--env', 'MODE=manual',
           images.base, *LOOP)
    foreign_id = inspect(name)['Id']
    args = dict(name=name, image=images.base, command=LOOP, network=['none'], state='present', env={'MODE': 'managed'})
    check, applied = four_steps(run_playbook, tmp_path, args, ['recreate'], 'created', 'created')
    assert check['diff']['before'] == {'state': 'created', 'env': {'MODE': 'manual'}}
    assert inspect(name)['Id'] != foreign_id
    # A matching foreign container is adopted as it is.
    other = cname()
    podman('create', '--name', other, '--network', 'none', images.base, *LOOP)
    result = run_module('container_state', dict(args, name=other, env=None))
    assert result['changed'] is False and result['container']['state'] == 'created'


BAD_INPUT = [
    ('port out of range', dict(ports=['99999:80']), "invalid ports '99999:80': host port 99999 is out of range 1-65535"),
    ('port not a port', dict(ports=['abc']), "invalid ports 'abc': expected [[ip:][host_port]:]container_port"),
    ('volume without container path', dict(volumes=['/srv/data:']), "invalid volumes '/srv/data:': the container path is missing"),
    ('volume relative host path', dict(volumes=['data/dir:/data']),
     "invalid volumes 'data/dir:/data': the host path 'data/dir' is relative"),
    ('option both in spec and on its own', dict(spec={'stop_timeout': 3}),
     'stop_timeout is set both as an option and in spec; set it in one place'),
    ('image missing, pull never', dict(image='localhost/podkit-lifecycle/absent:1', pull='never'),
     'image localhost/podkit-lifecycle/absent:1 is not in local storage and pull is never'),
    ('image cannot be pulled', dict(image='127.0.0.1:9/podkit-lifecycle/absent:1'),
     'podman pull failed for image 127.0.0.1:9/podkit-lifecycle/absent:1: '),
    ('podman path does not exist', dict(executable='/nonexistent/podman'),
     'podman is not installed on the target (or not in PATH): install podman or set executable'),
    ('podman not in PATH', dict(executable='podman-not-installed'),
     'podman is not installed on the target (or not in PATH): install podman or set executable'),
]


def test_bad_input(run_playbook, tmp_path, cname, base_args):
    """Every case in check mode and applied, in one playbook: a clear message, no traceback, no container."""
    name = cname()
    tasks = []
    for label, extra, message in BAD_INPUT:
        # Check mode does not pull, so an image that cannot be pulled fails only when applied.
        for check in ((False,) if 'podman pull' in message else (True, False)):
            tasks.append({'name': '%s%s' % (label, ' (check)' if check else ''), 'check_mode': check, 'ignore_errors': True,
                          'podkit.containers.container_state': dict(base_args, name=name, **extra)})
    tasks.append({'name': 'without image', 'ignore_errors': True, 'podkit.containers.container_state': {'name': name}})
    playbook = tmp_path / 'bad-input.yml'
    playbook.write_text(json.dumps([{'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}]))
    parsed, proc = run_playbook(str(playbook))
    results = task_results(parsed)
    assert 'Traceback' not in proc.stdout + proc.stderr
    for label, _extra, message in BAD_INPUT:
        for suffix in ('', ' (check)'):
            if label + suffix in results or not suffix:
                result = results[label + suffix]
                assert result.get('failed') is True, (label, result)
                assert message in result['msg'], (label, result['msg'])
                # ansible-core 2.19 puts exception='(traceback unavailable)' in every failure without one
                assert 'module_stderr' not in result and 'Traceback' not in result.get('exception', ''), result
    assert 'state is started but all of the following are missing: image' in results['without image']['msg']
    assert status(name) == 'absent'


# -- rootless ------------------------------------------------------------------------------------------

ROOTLESS_USER = 'podkit-rootless'


def _sh(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False, **kw)


def _ensure_subids(user):
    """A 65536-id range in /etc/subuid and /etc/subgid (useradd adds one on Debian; overlapping ranges break newuidmap)."""
    for path, flag in (('/etc/subuid', '--add-subuids'), ('/etc/subgid', '--add-subgids')):
        ranges = []
        if os.path.exists(path):
            with open(path) as handle:
                ranges = [line.strip().split(':') for line in handle if line.count(':') == 2]
        if any(r[0] == user for r in ranges):
            continue
        start = max([100000] + [int(r[1]) + int(r[2]) for r in ranges])
        proc = _sh(['usermod', flag, '%d-%d' % (start, start + 65535), user])
        assert proc.returncode == 0, proc.stderr


def ensure_test_user(name):
    """(pwd entry, runtime dir) of the throw-away account ``name``, created when missing, with a free subuid/subgid
    range and /run/user/UID owned by it, 0700, as logind would make it."""
    if os.geteuid() != 0:
        pytest.skip('creating the rootless test user needs root')
    try:
        pwd.getpwnam(name)
    except KeyError:
        proc = _sh(['useradd', '--create-home', '--shell', '/bin/sh', name])
        assert proc.returncode == 0, proc.stderr
    _ensure_subids(name)
    user = pwd.getpwnam(name)
    runtime_dir = '/run/user/%d' % user.pw_uid
    os.makedirs(runtime_dir, exist_ok=True)
    os.chown(runtime_dir, user.pw_uid, user.pw_gid)
    os.chmod(runtime_dir, 0o700)
    return user, runtime_dir


@pytest.fixture(scope='module')
def rootless(podman_env):
    user, runtime_dir = ensure_test_user(ROOTLESS_USER)
    # pytest's tmp dirs are 0700 root: the user gets a readable copy of the session's containers.conf.
    work = tempfile.mkdtemp(prefix='podkit-rootless-')
    os.chmod(work, 0o755)
    conf = os.path.join(work, 'containers.conf')
    with open(podman_env.containers_conf) as src, open(conf, 'w') as dst:
        dst.write(src.read())
    os.chmod(conf, 0o644)
    env = {'HOME': user.pw_dir, 'XDG_RUNTIME_DIR': runtime_dir, 'CONTAINERS_CONF': conf,
           'PATH': '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin'}

    def as_user(*args):
        return _sh(['runuser', '-u', ROOTLESS_USER, '--', 'env'] + ['%s=%s' % kv for kv in env.items()] + list(args),
                   cwd='/')

    proc = as_user('podman', 'info', '--format', '{{.Host.Security.Rootless}}')
    if proc.returncode != 0 or proc.stdout.strip() != 'true':
        shutil.rmtree(work, ignore_errors=True)
        pytest.skip('rootless podman cannot run on this machine: %s' % (proc.stderr.strip() or proc.stdout.strip()))
    yield dict(user=user, env=env, work=work, as_user=as_user)
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope='module')
def rootless_image(rootless, images):
    """images.base, copied into the user's own storage (rootless podman has a storage of its own)."""
    archive = os.path.join(rootless['work'], 'base.tar')
    podman('image', 'save', '--quiet', '--output', archive, images.base)
    os.chmod(archive, 0o644)
    proc = rootless['as_user']('podman', 'load', '--quiet', '--input', archive)
    assert proc.returncode == 0, proc.stderr
    os.unlink(archive)
    return images.base


def test_rootless_lifecycle(run_playbook, tmp_path, rootless, rootless_image):
    """create + start + stop + absent as an unprivileged user: ansible (root) becomes the user with su,
    pipelined so nothing is copied to a directory the user cannot read; the target python is the system one
    (root's venv is not readable by the user)."""
    name = 'podkit-rl-%s' % uuid.uuid4().hex[:8]
    play_extra = {'become': True, 'become_method': 'su', 'become_user': ROOTLESS_USER, 'environment': rootless['env']}
    # Rootless networking (slirp4netns) needs /dev/net/tun, which an unprivileged user cannot open here.
    args = dict(name=name, image=rootless_image, command=LOOP, network=['none'], stop_timeout=5)
    try:
        _check, applied = four_steps(run_playbook, tmp_path, dict(args, state='present'), ['create'], 'absent', 'created',
                                     play_extra)
        assert applied['container']['state'] == 'created'
        four_steps(run_playbook, tmp_path, dict(args, state='started'), ['start'], 'created', 'running', play_extra)
        user_data = json.loads(rootless['as_user']('podman', 'container', 'inspect', name).stdout)[0]
        assert user_data['HostConfig']['NetworkMode'] == 'none'
        # Root's storage never saw it.
        assert status(name) == 'absent'
        four_steps(run_playbook, tmp_path, dict(args, state='stopped'), ['stop'], 'running', 'exited', play_extra)
        four_steps(run_playbook, tmp_path, dict(name=name, state='absent'), ['remove'], 'exited', 'absent', play_extra)
    finally:
        rootless['as_user']('podman', 'rm', '--force', '--time', '0', name)


def test_pull_newer_follows_a_moved_tag(run_module, cname, images, registry_http):
    """The tag moves to another image in the registry: check mode predicts pull + recreate without pulling,
    apply pulls and recreates, and a further run is a no-op."""
    from images import push, random_layer_image
    name = cname()
    ref = '%s/cs/moving-%s:1' % (registry_http.host, uuid.uuid4().hex[:6])
    args = dict(name=name, image=ref, command=LOOP, stop_timeout=5, network=['none'], pull='newer', insecure=True)
    push(images.base, registry_http, ref.split('/', 1)[1])
    try:
        first = run_module('container_state', args)
        assert first['changed'] is True and first['actions'] == ['pull', 'create', 'start'], first
        assert run_module('container_state', args)['changed'] is False
        old_image = inspect(name)['Image']

        push(random_layer_image(64 * 1024, 'cs-newer'), registry_http, ref.split('/', 1)[1])
        check = run_module('container_state', args, check=True, diff=True)
        assert check['changed'] is True and check['actions'][:2] == ['pull', 'recreate'], check
        assert inspect(name)['Image'] == old_image  # nothing pulled, nothing recreated
        assert json.loads(podman('image', 'inspect', ref).stdout)[0]['Id'] == old_image

        apply = run_module('container_state', args)
        assert apply['changed'] is True and apply['actions'] == ['pull', 'recreate', 'start'], apply
        new_image = inspect(name)['Image']
        assert new_image != old_image and status(name) == 'running'
        assert run_module('container_state', args)['changed'] is False
    finally:
        podman('rm', '--force', '--time', '0', name, check=False)
        podman('rmi', '--force', ref, check=False)
