"""roles/container_service end to end: a real registry with a password, real podman, a real systemd user manager.

The proof of "deploy on boot": the role installs and enables the service, then the user manager is "rebooted" (it
exits, its process is gone, a fresh one starts) and — with no Ansible run in between — the container runs again and
answers HTTP. Then: a second run changes nothing, state=absent leaves nothing, a rootless account gets its own
deployment, and bad input fails with one clear message and nothing half-installed.

Decision under test for a container that cannot start: an upgrade gives way to the version that ran before (its unit
and its image, running again); a first deployment is rolled back (unit stopped, disabled,
removed; container removed) and fails; the unit is enabled only after its container was seen running.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import http.client as http_client
import json
import os
import shutil
import stat
import subprocess
import sys
import time
import uuid

import pytest

from ansible_runner import task_results
from images import push
from registry_server import free_port
from systemd_manager import mask_network_wait, user_manager  # noqa: F401  pylint: disable=unused-import
from test_container_state import _sh, ensure_test_user
from tools import has_quadlet, podman, podman_version, secret_scan

HERE = os.path.dirname(os.path.abspath(__file__))
PLAYBOOK = os.path.join(HERE, 'playbooks', 'container_service.yml')
LINGER_DIR = '/var/lib/systemd/linger'
# busybox httpd is PID 1 in the container and ignores SIGTERM: a short stop timeout keeps stops (reboot, absent) fast.
STOP_TIMEOUT = 2


def _wait(predicate, timeout=60, what='condition'):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError('timed out waiting for %s' % what)


def _inspect(name, as_user=None):
    cmd = ['podman', 'container', 'inspect', name]
    proc = as_user(*cmd) if as_user else podman(*cmd[1:], check=False)
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout)[0]


def _running(name, as_user=None):
    data = _inspect(name, as_user)
    return data is not None and data['State']['Status'] == 'running'


def _http(port):
    try:
        conn = http_client.HTTPConnection('127.0.0.1', port, timeout=3)
        conn.request('GET', '/')
        return conn.getresponse().read().decode('utf-8', 'replace')
    except (OSError, http_client.HTTPException):
        return None


def _play(run_playbook, extra_vars, env, expect_ok=True):
    """Run the role; returns (parsed, proc, changed count, failed task results)."""
    parsed, proc = run_playbook(PLAYBOOK, extra_vars=extra_vars, env=dict(env, ANSIBLE_PIPELINING='1'))
    out = proc.stdout + proc.stderr
    assert 'Traceback' not in out, out[-4000:]
    stats = parsed['stats']['localhost']
    failed = [r for r in task_results(parsed).values() if r.get('failed') and not r.get('skipped')]
    if expect_ok:
        assert proc.returncode == 0 and stats['failures'] == 0, json.dumps(failed, indent=1)[-6000:]
    return parsed, proc, stats['changed'], failed


def _failure_msg(parsed, proc):
    assert proc.returncode != 0, 'the play did not fail'
    msgs = [r['msg'] for r in task_results(parsed).values() if r.get('failed') and 'msg' in r]
    assert msgs, proc.stdout[-4000:]
    return msgs[-1]


def _task(parsed, name):
    """The result of the role task called ``name`` (the json callback prefixes the role)."""
    results = task_results(parsed)
    for key, value in results.items():
        if key.split(' : ', 1)[-1] == name:
            return value
    raise AssertionError('no task %r in %s' % (name, sorted(results)))


def _load_state(manager_systemctl, unit):
    return manager_systemctl('show', '--property=LoadState', '--value', unit, check=False).stdout.strip()


@pytest.fixture(scope='module')
def web(registry_tls_basic, images):
    """The app image (busybox httpd on 8080) in a TLS + htpasswd registry."""
    return push(images.app, registry_tls_basic, 'svc/web:1')


@pytest.fixture
def fake_loginctl(tmp_path):
    """A loginctl that does what logind does for enable-linger (this machine has no logind)."""
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    log = tmp_path / 'loginctl.log'
    script = bindir / 'loginctl'
    script.write_text(u'#!/bin/sh\necho "$@" >> %s\n[ "$1" = enable-linger ] || exit 1\n'
                      u'mkdir -p %s && touch %s/"$2"\n' % (log, LINGER_DIR, LINGER_DIR))
    script.chmod(0o755)
    return {'PATH': '%s:%s' % (bindir, os.environ['PATH'])}, log


def _base_vars(name, image, registry, port, podman_env, auth_file):
    return {
        'container_service_name': name,
        'container_service_image': image,
        'container_service_scope': 'user',
        'container_service_ports': ['127.0.0.1:%d:8080' % port],
        'container_service_env': {'GREETING': 'hello $HOME 100%'},
        'container_service_labels': {'app': 'web'},
        'container_service_environment': {'CONTAINERS_CONF': podman_env.containers_conf},
        'container_service_stop_timeout': STOP_TIMEOUT,
        'container_service_registry_username': registry.username,
        'container_service_registry_password': registry.password,
        'container_service_ca_cert': registry.ca_cert,
        'container_service_auth_file': auth_file,
        'container_service_verify_url': 'http://127.0.0.1:%d/' % port,
        'container_service_verify_settle': 2,
    }


def _service_names(manager, prefix):
    """(container name, free port, unit, unit file path, path of its default.target.wants link) of a new service.

    The role's default format (auto) is Quadlet where podman has it (Debian 13): the file is NAME.container and the
    generator enables NAME.service from its [Install] section, so there is no link (None)."""
    name = '%s-%s' % (prefix, uuid.uuid4().hex[:6])
    if has_quadlet():
        return (name, free_port(), name + '.service',
                os.path.join(manager.config_home, 'containers', 'systemd', name + '.container'), None)
    unit = 'container-%s.service' % name
    return (name, free_port(), unit, os.path.join(manager.unit_dir, unit),
            os.path.join(manager.unit_dir, 'default.target.wants', unit))


def _enabled(manager, unit, wants_link):
    """Whether the unit starts at boot: its link (a unit), or default.target wanting the generated service (Quadlet)."""
    if wants_link:
        return os.path.islink(wants_link)
    return unit in manager.systemctl('show', '--property=Wants', '--value', 'default.target').stdout.split()


def test_deploy_reboot_idempotent_absent(user_manager, web, registry_tls_basic, podman_env, run_playbook,  # noqa: F811
                                         tmp_path, fake_loginctl):
    name, port, unit, unit_path, wants_link = _service_names(user_manager, 'svc-web')
    auth_file = str(tmp_path / 'auth.json')
    path_env, loginctl_log = fake_loginctl
    env = dict(user_manager.env, **path_env)
    linger_file = os.path.join(LINGER_DIR, 'root')
    linger_before = os.path.exists(linger_file)
    evars = _base_vars(name, web.ref, registry_tls_basic, port, podman_env, auth_file)
    # The spec dictionary passes through as it is, next to the older variables: its labels win over
    # container_service_labels, the container key of container_service_options still reaches the container.
    evars.update(container_service_spec={'labels': {'app': 'web', 'tier': 'front'}, 'stop_signal': 'SIGINT'},
                 container_service_options={'hostname': 'websvc', 'restart_sec': 1})
    try:
        started = time.time()
        parsed, proc, changed, _failed = _play(run_playbook, evars, env)
        first_run = time.time() - started
        assert changed >= 4, changed   # login, pull, unit, start, enable
        secret_scan([proc.stdout, proc.stderr], registry_tls_basic.password)
        with open(unit_path) as f:
            content = f.read()
        assert '--authfile %s' % auth_file in content
        assert 'Environment=CONTAINERS_CONF=%s' % podman_env.containers_conf in content
        assert _enabled(user_manager, unit, wants_link), 'the unit is not enabled'
        assert oct(stat.S_IMODE(os.stat(auth_file).st_mode)) == oct(0o600)
        assert _running(name)
        assert 'podkit app' in (_http(port) or '')
        assert 'GREETING=hello $HOME 100%' in podman('exec', name, 'env').stdout
        config = _inspect(name)['Config']
        assert config['Labels']['tier'] == 'front' and config['Labels']['app'] == 'web'
        assert config['Hostname'] == 'websvc' and config['StopSignal'] in (2, 'SIGINT')
        assert 'RestartSec=1\n' in content
        # linger: loginctl succeeded (the fake one), so the role did not write the file itself
        if not linger_before:
            assert loginctl_log.read_text().split() == ['enable-linger', 'root']
            assert _task(parsed, 'Enable lingering with loginctl for root')['changed'] is True
        before = _inspect(name)['Id']

        started = time.time()
        _parsed, proc, changed, _failed = _play(run_playbook, evars, env)
        second_run = time.time() - started
        assert changed == 0, proc.stdout[-3000:]
        assert _inspect(name)['Id'] == before, 'a run without changes restarted the container'

        # "Reboot": the manager exits (the container stops with it), a new one starts the enabled unit.
        user_manager.stop()
        assert not _running(name), 'the container outlived its manager'
        user_manager.start()
        _wait(lambda: _running(name), what='the container after the reboot')
        _wait(lambda: _http(port) is not None, what='httpd after the reboot')
        assert 'podkit app' in _http(port)
        assert _inspect(name)['Id'] != before, 'not a new container'

        absent = dict(evars, container_service_state='absent')
        _parsed, proc, changed, _failed = _play(run_playbook, absent, env)
        assert changed >= 2, changed
        assert not os.path.exists(unit_path) and not (wants_link and os.path.lexists(wants_link))
        assert _load_state(user_manager.systemctl, unit) == 'not-found'
        assert _inspect(name) is None
        _parsed, proc, changed, _failed = _play(run_playbook, absent, env)
        assert changed == 0, proc.stdout[-3000:]
        print('container_service: first run %.1fs, second run %.1fs' % (first_run, second_run))
    finally:
        user_manager.systemctl('disable', '--now', unit, check=False)
        podman('rm', '-f', '--ignore', '--time', '0', name, check=False)
        if os.path.exists(unit_path):
            os.unlink(unit_path)
        if not linger_before and os.path.exists(linger_file):
            os.unlink(linger_file)


def _assert_nothing_installed(manager, name, unit):
    for path in (os.path.join(manager.unit_dir, unit),
                 os.path.join(manager.config_home, 'containers', 'systemd', name + '.container')):
        assert not os.path.exists(path), 'unit file left behind: %s' % path
    assert not os.path.lexists(os.path.join(manager.unit_dir, 'default.target.wants', unit)), 'unit left enabled'
    assert _load_state(manager.systemctl, unit) == 'not-found'
    assert _inspect(name) is None, 'container left behind'


def test_bad_input(user_manager, web, registry_tls_basic, podman_env, run_playbook, tmp_path):  # noqa: F811
    name, port, unit, _path, _link = _service_names(user_manager, 'svc-bad')
    auth_file = str(tmp_path / 'auth.json')
    evars = dict(_base_vars(name, web.ref, registry_tls_basic, port, podman_env, auth_file),
                 container_service_linger=False)
    env = user_manager.env

    # A value a unit line cannot carry: fails while rendering, before login, pull or any file.
    parsed, proc, _c, _f = _play(run_playbook, dict(evars, container_service_env={'A': 'one\ntwo'}), env, expect_ok=False)
    msg = _failure_msg(parsed, proc)
    assert 'env' in msg and 'newline' in msg, msg
    assert not os.path.exists(auth_file), 'credentials stored although the unit cannot be rendered'
    _assert_nothing_installed(user_manager, name, unit)

    # No user manager to install into: the same, before anything is touched.
    runtime = tmp_path / 'no-manager'
    runtime.mkdir(mode=0o700)
    no_manager = {'XDG_RUNTIME_DIR': str(runtime), 'XDG_CONFIG_HOME': user_manager.config_home,
                  'DBUS_SESSION_BUS_ADDRESS': 'unix:path=%s/bus' % runtime}
    parsed, proc, _c, _f = _play(run_playbook, evars, no_manager, expect_ok=False)
    msg = _failure_msg(parsed, proc)
    assert 'no systemd user manager' in msg, msg
    assert not os.path.exists(auth_file)
    _assert_nothing_installed(user_manager, name, unit)

    # Quadlet on podman 4.3: refused with the reason, before anything is touched (podman 4.4 and later have it: the
    # Quadlet deployments of the other tests run there).
    if not has_quadlet():
        parsed, proc, _c, _f = _play(run_playbook, dict(evars, container_service_format='quadlet'), env, expect_ok=False)
        msg = _failure_msg(parsed, proc)
        assert 'podman >= 4.4' in msg and 'quadlet_install_only' in msg, msg
        assert not os.path.exists(auth_file)

    # An unwritable destination: the module's message, no unit anywhere.
    blocker = tmp_path / 'file'
    blocker.write_text(u'not a directory')
    parsed, proc, _c, _f = _play(run_playbook, dict(evars, container_service_unit_dir=str(blocker / 'units')), env,
                                 expect_ok=False)
    msg = _failure_msg(parsed, proc)
    assert 'cannot create directory' in msg, msg
    assert blocker.read_text() == u'not a directory'
    _assert_nothing_installed(user_manager, name, unit)

    # A container that exits 1 at once: started, seen failing, rolled back, and the play fails saying so.
    parsed, proc, _c, _f = _play(run_playbook, dict(evars, container_service_command=['false'],
                                                    container_service_verify_timeout=15), env, expect_ok=False)
    msg = _failure_msg(parsed, proc)
    assert 'failed to start the container %s' % name in msg and 'rolled back' in msg, msg
    assert 'Traceback' not in msg
    _assert_nothing_installed(user_manager, name, unit)
    secret_scan([proc.stdout, proc.stderr], registry_tls_basic.password)


def test_failed_upgrade_brings_back_the_running_version(user_manager, registry_tls_basic, images, podman_env,  # noqa: F811
                                                       run_playbook, tmp_path):
    name, port, unit, unit_path, wants_link = _service_names(user_manager, 'svc-upg')
    # a repository of its own: this test moves the tag
    v1 = push(images.app, registry_tls_basic, 'svc/upgrade-%s:1' % uuid.uuid4().hex[:6])
    evars = dict(_base_vars(name, v1.ref, registry_tls_basic, port, podman_env, str(tmp_path / 'auth.json')),
                 container_service_linger=False, container_service_verify_timeout=8)
    env = user_manager.env
    try:
        _play(run_playbook, evars, env)
        with open(unit_path) as f:
            v1_unit = f.read()
        v1_image = _inspect(name)['Image']
        assert 'podkit app' in (_http(port) or '')

        # A new configuration that cannot start: the unit that ran before is back, enabled, running the same image.
        before = _inspect(name)['Id']
        parsed, proc, _c, _f = _play(run_playbook, dict(evars, container_service_command=['false']), env, expect_ok=False)
        msg = _failure_msg(parsed, proc)
        assert 'failed to start the container %s' % name in msg, msg
        assert 'the unit and the image that ran before are back, and running again' in msg, msg
        with open(unit_path) as f:
            assert f.read() == v1_unit
        assert _enabled(user_manager, unit, wants_link), 'the restored unit is no longer enabled'
        _wait(lambda: _running(name), what='the restored container')
        assert _inspect(name)['Id'] != before and _inspect(name)['Image'] == v1_image
        assert 'podkit app' in (_http(port) or '')

        # A new image under the same tag that cannot start (busybox sh, no terminal: exits at once): the tag points
        # at the image that ran before again, and that image runs.
        push(images.base, registry_tls_basic, v1.ref.split('/', 1)[1])
        parsed, proc, _c, _f = _play(run_playbook, evars, env, expect_ok=False)
        msg = _failure_msg(parsed, proc)
        assert 'the unit and the image that ran before are back, and running again' in msg, msg
        assert _task(parsed, 'Point the image name back at the image that ran before %s' % v1.ref)['changed'] is True
        assert podman('image', 'inspect', '--format', '{{.Id}}', v1.ref).stdout.strip() == v1_image
        _wait(lambda: _running(name), what='the restored container')
        assert _inspect(name)['Image'] == v1_image and 'podkit app' in (_http(port) or '')
        secret_scan([proc.stdout, proc.stderr], registry_tls_basic.password)

        # And it is what starts at boot.
        user_manager.stop()
        user_manager.start()
        _wait(lambda: _running(name), what='the restored container after the reboot')
        assert _inspect(name)['Image'] == v1_image

        # A service that was stopped: its unit and image come back, and it stays stopped.
        user_manager.systemctl('stop', unit)
        parsed, proc, _c, _f = _play(run_playbook, dict(evars, container_service_command=['false']), env, expect_ok=False)
        msg = _failure_msg(parsed, proc)
        assert 'the unit and the image that ran before are back (not started: it was not running)' in msg, msg
        with open(unit_path) as f:
            assert f.read() == v1_unit
        assert podman('image', 'inspect', '--format', '{{.Id}}', v1.ref).stdout.strip() == v1_image
        assert user_manager.systemctl('is-active', unit, check=False).stdout.strip() != 'active'
    finally:
        user_manager.systemctl('disable', '--now', unit, check=False)
        podman('rm', '-f', '--ignore', '--time', '0', name, check=False)
        if os.path.exists(unit_path):
            os.unlink(unit_path)
        podman('rmi', '--ignore', v1.ref, check=False)


def test_quadlet_install_only(user_manager, web, registry_tls_basic, podman_env, run_playbook, tmp_path):  # noqa: F811
    name = 'svc-q-%s' % uuid.uuid4().hex[:6]
    path = os.path.join(user_manager.config_home, 'containers', 'systemd', name + '.container')
    evars = dict(_base_vars(name, web.ref, registry_tls_basic, free_port(), podman_env, str(tmp_path / 'auth.json')),
                 container_service_linger=False, container_service_format='quadlet',
                 container_service_quadlet_install_only=True)
    _parsed, _proc, changed, _f = _play(run_playbook, evars, user_manager.env)
    assert changed >= 1 and os.path.exists(path)
    _parsed, proc, changed, _f = _play(run_playbook, evars, user_manager.env)
    assert changed == 0, proc.stdout[-3000:]
    _parsed, _proc, changed, _f = _play(run_playbook, dict(evars, container_service_state='absent'), user_manager.env)
    assert changed >= 1 and not os.path.exists(path)


# -- rootless ------------------------------------------------------------------------------------------------------

ROOTLESS_USER = 'podkit-svc'
SHARED = '/var/tmp/podkit-svc-test'


class RootlessManager(object):
    """The user manager of ROOTLESS_USER, started as that user with XDG_RUNTIME_DIR=/run/user/UID (where logind
    would start it at boot for a lingering user)."""

    def __init__(self, user):
        self.user = user
        self.runtime_dir = '/run/user/%d' % user.pw_uid
        self.unit_dir = os.path.join(user.pw_dir, '.config', 'systemd', 'user')
        self.env = {'HOME': user.pw_dir, 'USER': user.pw_name, 'XDG_RUNTIME_DIR': self.runtime_dir,
                    'PATH': '/usr/local/bin:/usr/bin:/bin'}
        self.log_path = os.path.join(SHARED, 'manager.log')
        self.proc = None

    def as_user(self, *args, **kw):
        return _sh(['runuser', '-u', self.user.pw_name, '--', 'env', '-i'] + ['%s=%s' % kv for kv in self.env.items()]
                   + list(args), cwd='/', timeout=kw.get('timeout', 120))

    def systemctl(self, *args, **kw):
        proc = self.as_user('systemctl', '--user', *args)
        if kw.get('check', True) and proc.returncode != 0:
            raise AssertionError('systemctl --user %s: %s%s' % (' '.join(args), proc.stdout, proc.stderr))
        return proc

    def _delegate_cgroup(self):
        """What user@UID.service's Delegate=yes does at a boot: a cgroup of the unified hierarchy the user owns, or
        systemd --user cannot create its init.scope and exits."""
        unified = '/sys/fs/cgroup/unified' if os.path.isdir('/sys/fs/cgroup/unified') else '/sys/fs/cgroup'
        cgroup = os.path.join(unified, 'podkit-user-%d' % self.user.pw_uid)
        if not os.path.isdir(cgroup):
            os.mkdir(cgroup)
        for entry in [cgroup] + [os.path.join(cgroup, f) for f in os.listdir(cgroup)]:
            os.chown(entry, self.user.pw_uid, self.user.pw_gid)
        return cgroup

    def start(self, timeout=30):
        cgroup = self._delegate_cgroup()
        # systemctl and the manager check for this directory to decide that "systemd is running" (else: "the system
        # has not been booted with systemd"); /run may be fresh, as in the Debian 13 root
        os.makedirs('/run/systemd/system', exist_ok=True)
        if not os.path.isdir(self.unit_dir):
            self.as_user('mkdir', '-p', self.unit_dir)
        mask_network_wait(self.unit_dir)
        argv = ['runuser', '-u', self.user.pw_name, '--', 'env', '-i'] + ['%s=%s' % kv for kv in self.env.items()]
        with open(self.log_path, 'ab') as log:
            self.proc = subprocess.Popen(['/bin/sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup]
                                         + argv + ['/lib/systemd/systemd', '--user'],
                                         stdout=log, stderr=subprocess.STDOUT, cwd='/', start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('systemd --user of %s exited (rc=%s)' % (self.user.pw_name, self.proc.returncode))
            if self.systemctl('is-system-running', check=False).stdout.strip() in ('running', 'degraded'):
                return self
            time.sleep(0.3)
        raise RuntimeError('the user manager of %s did not come up' % self.user.pw_name)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.systemctl('exit', check=False)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


def _user_python():
    """A python the user can run, with the collection's two runtime libraries (root's venv is under /root, 0700)."""
    venv = os.path.join(SHARED, 'python')
    python = os.path.join(venv, 'bin', 'python')
    if not os.path.exists(os.path.join(venv, '.complete')):
        shutil.rmtree(venv, ignore_errors=True)
        proc = _sh(['/usr/bin/python3', '-m', 'venv', venv])
        if proc.returncode == 0:
            proc = _sh([os.path.join(venv, 'bin', 'pip'), 'install', '-q', '--disable-pip-version-check',
                        'requests==2.34.2', 'jsonschema==4.26.0'], timeout=300)
        if proc.returncode != 0:
            pytest.skip('cannot make a python with requests for the rootless user: %s' % proc.stderr[-500:])
        open(os.path.join(venv, '.complete'), 'w').close()
    return python


@pytest.fixture(scope='module')
def rootless(podman_env):
    user, dummy = ensure_test_user(ROOTLESS_USER)
    os.makedirs(SHARED, exist_ok=True)
    os.chmod(SHARED, 0o755)
    conf = os.path.join(SHARED, 'containers.conf')
    shutil.copyfile(podman_env.containers_conf, conf)
    os.chmod(conf, 0o644)
    python = _user_python()
    manager = RootlessManager(user)
    manager.env['CONTAINERS_CONF'] = conf
    proc = manager.as_user('podman', 'info', '--format', '{{.Host.Security.Rootless}}')
    if proc.returncode != 0 or proc.stdout.strip() != 'true':
        pytest.skip('rootless podman cannot run here: %s' % (proc.stderr.strip() or proc.stdout.strip()))
    manager.start()
    yield {'user': user, 'manager': manager, 'python': python, 'conf': conf}
    manager.stop()


def test_rootless_deploy_survives_reboot(rootless, web, registry_tls_basic, run_playbook):
    """Root runs the play; the role's tasks for the account become it (su, pipelined) with XDG_RUNTIME_DIR=/run/user/UID.
    Rootless networking needs /dev/net/tun, which this machine does not give an unprivileged user: network none,
    and the check is the container's own process list instead of HTTP."""
    manager = rootless['manager']
    user = rootless['user']
    if has_quadlet() and not os.path.exists('/sys/fs/cgroup/cgroup.controllers'):
        # Seen with podman 5.4.2 in the Debian 13 root on this machine's cgroup v1 hybrid layout: the account's Quadlet
        # service fails (`podman run --cgroups=split` exits 126) and its rendered unit ends at once (inactive, no
        # container). Not yet understood; podman 5 deprecates cgroup v1, and podman 4.3 runs this test on Debian 12.
        pytest.skip('rootless podman %d.%d services on cgroup v1 do not run here (see the comment)' % podman_version())
    name = 'svc-rl-%s' % uuid.uuid4().hex[:6]
    if has_quadlet():  # what the default, auto, picks there
        unit = name + '.service'
        unit_path = os.path.join(user.pw_dir, '.config', 'containers', 'systemd', name + '.container')
        wants_link = None
    else:
        unit = 'container-%s.service' % name
        unit_path = os.path.join(manager.unit_dir, unit)
        wants_link = os.path.join(manager.unit_dir, 'default.target.wants', unit)
    ca = os.path.join(SHARED, 'ca.crt')
    shutil.copyfile(registry_tls_basic.ca_cert, ca)
    os.chmod(ca, 0o644)
    linger_file = os.path.join(LINGER_DIR, ROOTLESS_USER)
    if os.path.exists(linger_file):
        os.unlink(linger_file)
    evars = {
        'ansible_python_interpreter': rootless['python'],
        'ansible_become_method': 'su',
        'container_service_name': name,
        'container_service_image': web.ref,
        'container_service_scope': 'user',
        'container_service_user': ROOTLESS_USER,
        'container_service_network': ['none'],
        'container_service_environment': {'CONTAINERS_CONF': rootless['conf']},
        'container_service_stop_timeout': STOP_TIMEOUT,
        'container_service_registry_username': registry_tls_basic.username,
        'container_service_registry_password': registry_tls_basic.password,
        'container_service_ca_cert': ca,
        'container_service_verify_settle': 2,
    }
    auth_file = os.path.join(user.pw_dir, '.config', 'containers', 'auth.json')
    env = {}
    try:
        parsed, proc, changed, _f = _play(run_playbook, evars, env)
        assert changed >= 4, changed
        secret_scan([proc.stdout, proc.stderr], registry_tls_basic.password)
        # no logind here: loginctl fails and the role writes the file logind reads at boot, and says so
        assert os.path.exists(linger_file)
        assert 'logind reads at' in _task(parsed, 'Say why the linger file is written directly')['msg']
        # the default auth file of a user scope: in the account's home, owned by it
        assert os.stat(auth_file).st_uid == user.pw_uid
        with open(unit_path) as f:
            assert '--authfile %s' % auth_file in f.read()
        assert _enabled(manager, unit, wants_link)
        assert _running(name, manager.as_user)
        assert _inspect(name) is None, 'the container is in root storage'
        assert 'httpd' in manager.as_user('podman', 'exec', name, 'ps').stdout
        before = _inspect(name, manager.as_user)['Id']

        _parsed, proc, changed, _f = _play(run_playbook, evars, env)
        assert changed == 0, proc.stdout[-3000:]

        manager.stop()
        assert not _running(name, manager.as_user)
        manager.start()
        _wait(lambda: _running(name, manager.as_user), what='the rootless container after the reboot')
        assert _inspect(name, manager.as_user)['Id'] != before
        assert 'httpd' in manager.as_user('podman', 'exec', name, 'ps').stdout

        # A failed upgrade, as the account: its old unit (still the account's file) and container come back.
        with open(unit_path) as f:
            old_unit = f.read()
        parsed, proc, _c, _f = _play(run_playbook, dict(evars, container_service_command=['false'],
                                                        container_service_verify_timeout=8), env, expect_ok=False)
        msg = _failure_msg(parsed, proc)
        assert 'the unit and the image that ran before are back, and running again' in msg, msg
        with open(unit_path) as f:
            assert f.read() == old_unit
        assert os.stat(unit_path).st_uid == user.pw_uid
        _wait(lambda: _running(name, manager.as_user), what='the restored rootless container')
        assert 'httpd' in manager.as_user('podman', 'exec', name, 'ps').stdout

        _parsed, _proc, changed, _f = _play(run_playbook, dict(evars, container_service_state='absent'), env)
        assert changed >= 2
        assert not os.path.exists(unit_path)
        assert _inspect(name, manager.as_user) is None
    finally:
        manager.systemctl('disable', '--now', unit, check=False)
        manager.as_user('podman', 'rm', '-f', '--ignore', '--time', '0', name)
        if os.path.exists(linger_file):
            os.unlink(linger_file)


def test_playbook_syntax():
    """playbooks/deploy_on_boot.yml parses (it is run for real by the demo)."""
    root = os.path.dirname(os.path.dirname(HERE))
    proc = _sh([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '--syntax-check', '-i', 'localhost,',
                os.path.join(root, 'playbooks', 'deploy_on_boot.yml')])
    assert proc.returncode == 0, proc.stdout + proc.stderr
