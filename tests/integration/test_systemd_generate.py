"""systemd_generate against a real systemd user manager, real podman and the busybox test images."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import http.client as http_client
import json
import os
import subprocess
import time

import pytest

from registry_server import free_port
from systemd_manager import UserManager, user_manager  # noqa: F401  pylint: disable=unused-import
from tools import PODMAN5_OPTIONS_PENDING, has_quadlet, podman, podman_version


def _no_traceback(res):
    assert 'Traceback' not in res.stdout + res.stderr, res.stdout + res.stderr


def _wait(predicate, timeout=30, what='condition'):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError('timed out waiting for %s' % what)


def _running(name):
    proc = podman('container', 'inspect', '--format', '{{.State.Status}}', name, check=False)
    return proc.returncode == 0 and proc.stdout.strip() == 'running'


def _http(port):
    try:
        conn = http_client.HTTPConnection('127.0.0.1', port, timeout=3)
        conn.request('GET', '/')
        return conn.getresponse().read().decode('utf-8', 'replace')
    except (OSError, http_client.HTTPException):
        return None


def _four_steps(run_module, args, env, path):
    """check -> apply -> check -> apply; returns the results."""
    first = run_module('systemd_generate', args, check=True, diff=True, env=env)
    _no_traceback(first)
    assert first['changed'] is True, first
    assert first['diff']['before_header'] == path + ' (absent)'
    assert first['diff']['after_header'] == path
    assert first['diff']['after'] == first['content']
    assert not os.path.exists(path), 'check mode wrote the file'
    assert first['daemon_reloaded'] is False

    second = run_module('systemd_generate', args, diff=True, env=env)
    _no_traceback(second)
    assert second['changed'] is True, second
    assert second['path'] == path
    assert second['content'] == first['content']
    with open(path) as f:
        assert f.read() == second['content']
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o644)

    third = run_module('systemd_generate', args, check=True, diff=True, env=env)
    fourth = run_module('systemd_generate', args, diff=True, env=env)
    for res in (third, fourth):
        _no_traceback(res)
        assert res['changed'] is False, res
        assert res['diff']['before'] == res['diff']['after']
        assert res['daemon_reloaded'] is False
    return first, second


def test_unit_runs_container_and_survives_reboot(user_manager, images, run_module, podman_env):  # noqa: F811
    if podman_version() >= (5, 0):
        pytest.skip(PODMAN5_OPTIONS_PENDING)
    name = 'sgen-web-%d' % os.getpid()
    port = free_port()
    env = user_manager.env
    args = {'name': name, 'image': images.app, 'format': 'unit', 'scope': 'user', 'ports': ['127.0.0.1:%d:8080' % port],
            'env': {'GREETING': 'a b $HOME 50%'}, 'restart_policy': 'on-failure', 'stop_timeout': 5,
            'environment': {'CONTAINERS_CONF': podman_env.containers_conf},
            # options of the table through the spec dictionary, rendered into ExecStart
            'spec': {'cap_drop': ['MKNOD'], 'ulimits': ['nofile=2048:4096', 'nproc=1024:1024'],
                     'tmpfs': ['/scratch:rw,size=8m'], 'init': True, 'annotations': {'org.podkit.unit': 'a b'},
                     'dns_search': ['podkit.test'], 'extra_args': ['--oom-score-adj=100']}}
    path = os.path.join(user_manager.unit_dir, 'container-%s.service' % name)
    try:
        _first, second = _four_steps(run_module, args, env, path)
        assert second['unit_name'] == 'container-%s.service' % name
        assert second['daemon_reloaded'] is True
        assert 'TimeoutStopSec=65' in second['content']
        assert 'WantedBy=default.target' in second['content']

        rc, out = user_manager.verify(path)
        assert rc == 0, out

        user_manager.systemctl('start', second['unit_name'])
        status = user_manager.systemctl('status', '--no-pager', second['unit_name'], check=False).stdout
        assert _running(name), status
        _wait(lambda: _http(port) is not None, what='httpd to answer')
        assert 'podkit app' in _http(port)
        # systemd's quoting rules: the value reaches the container unchanged.
        assert 'GREETING=a b $HOME 50%' in podman('exec', name, 'env').stdout
        inspected = json.loads(podman('container', 'inspect', name).stdout)[0]
        host = inspected['HostConfig']
        assert inspected['Config']['Annotations']['org.podkit.unit'] == 'a b'
        assert host['CapDrop'] == ['CAP_MKNOD'] and host['Init'] is True and host['DnsSearch'] == ['podkit.test']
        assert '/scratch' in host['Tmpfs'] and host['OomScoreAdj'] == 100
        assert {'Name': 'RLIMIT_NOFILE', 'Soft': 2048, 'Hard': 4096} in host['Ulimits']

        user_manager.systemctl('enable', second['unit_name'])
        user_manager.reboot()
        _wait(lambda: _running(name), timeout=60, what='the container after the reboot')
        _wait(lambda: _http(port) is not None, what='httpd after the reboot')

        user_manager.systemctl('disable', '--now', second['unit_name'])
        _wait(lambda: not _running(name), what='the container to stop')

        absent = dict(args, state='absent')
        check = run_module('systemd_generate', absent, check=True, diff=True, env=env)
        _no_traceback(check)
        assert check['changed'] is True and os.path.exists(path)
        assert check['diff']['after_header'] == path + ' (absent)'
        gone = run_module('systemd_generate', absent, diff=True, env=env)
        _no_traceback(gone)
        assert gone['changed'] is True and gone['daemon_reloaded'] is True
        assert not os.path.exists(path)
        load = user_manager.systemctl('show', '--property=LoadState', second['unit_name']).stdout.strip()
        assert load == 'LoadState=not-found', load
        again = run_module('systemd_generate', absent, env=env)
        assert again['changed'] is False
    finally:
        user_manager.systemctl('disable', '--now', 'container-%s.service' % name, check=False)
        podman('rm', '-f', '--ignore', name, check=False)


def test_quadlet_runs_in_the_user_manager_and_survives_reboot(user_manager, images, run_module, podman_env):  # noqa: F811
    """The .container file through podman's own generator: podman's user generator runs at every daemon-reload of the
    (private) user manager and turns it into NAME.service, which starts, serves, comes back after a "reboot" because
    of its [Install] section, and is gone with the file."""
    if not has_quadlet():
        pytest.skip('podman %d.%d has no Quadlet generator (4.4 or later has)' % podman_version())
    name = 'sgen-ql-%d' % os.getpid()
    port = free_port()
    env = user_manager.env
    # No format: auto picks Quadlet on this podman.
    args = {'name': name, 'image': images.app, 'scope': 'user', 'ports': ['127.0.0.1:%d:8080' % port],
            'env': {'GREETING': 'a b $HOME 50%'}, 'workdir': '/data', 'hostname': 'web', 'stop_timeout': 5,
            'environment': {'CONTAINERS_CONF': podman_env.containers_conf}}
    path = os.path.join(user_manager.config_home, 'containers', 'systemd', name + '.container')
    service = name + '.service'
    try:
        _first, second = _four_steps(run_module, args, env, path)
        assert second['format'] == 'quadlet' and second['unit_name'] == service
        assert second['daemon_reloaded'] is True
        shown = user_manager.systemctl('show', '--property=LoadState,SourcePath', service).stdout
        assert 'LoadState=loaded' in shown and 'SourcePath=%s' % path in shown, shown
        # enabled by the generator from [Install] WantedBy=default.target
        wants = user_manager.systemctl('show', '--property=Wants', '--value', 'default.target').stdout.split()
        assert service in wants, wants

        user_manager.systemctl('start', service)
        _wait(lambda: _running(name), what='the Quadlet container')
        _wait(lambda: _http(port) is not None, what='httpd to answer')
        assert 'podkit app' in _http(port)
        assert 'GREETING=a b $HOME 50%' in podman('exec', name, 'env').stdout
        assert podman('exec', name, 'hostname').stdout.strip() == 'web'

        before = podman('container', 'inspect', '--format', '{{.Id}}', name).stdout.strip()
        user_manager.reboot()
        _wait(lambda: _running(name), timeout=60, what='the Quadlet container after the reboot')
        _wait(lambda: _http(port) is not None, what='httpd after the reboot')
        assert podman('container', 'inspect', '--format', '{{.Id}}', name).stdout.strip() != before, 'not a new container'

        user_manager.systemctl('stop', service)
        _wait(lambda: not _running(name), what='the container to stop')
        gone = run_module('systemd_generate', dict(args, state='absent'), diff=True, env=env)
        _no_traceback(gone)
        assert gone['changed'] is True and gone['daemon_reloaded'] is True and gone['format'] == 'quadlet'
        assert not os.path.exists(path)
        load = user_manager.systemctl('show', '--property=LoadState', service).stdout.strip()
        assert load == 'LoadState=not-found', load
    finally:
        user_manager.systemctl('stop', service, check=False)
        if os.path.exists(path):
            os.unlink(path)
            user_manager.systemctl('daemon-reload', check=False)
        podman('rm', '-f', '--ignore', name, check=False)


def test_quadlet_four_steps(user_manager, images, run_module, tmp_path):  # noqa: F811
    name = 'sgen-q-%d' % os.getpid()
    args = {'name': name, 'image': images.app, 'format': 'quadlet', 'scope': 'user',
            'ports': ['127.0.0.1:18099:8080'], 'workdir': '/data', 'hostname': 'web',
            'command': ['httpd', '-f', '-p', '8080'], 'restart_sec': '5s'}
    # Checked statically here (and against the key table in the unit tests); run for real by the test above.
    path = os.path.join(user_manager.config_home, 'containers', 'systemd', name + '.container')
    _first, second = _four_steps(run_module, args, user_manager.env, path)
    assert second['unit_name'] == name + '.service'
    assert '[Container]\nImage=%s\nContainerName=%s\n' % (images.app, name) in second['content']
    assert 'PodmanArgs=--workdir /data' in second['content']
    gone = run_module('systemd_generate', dict(args, state='absent'), env=user_manager.env)
    assert gone['changed'] is True and not os.path.exists(path)


def test_system_unit_verifies(images, run_module, tmp_path):
    dest = str(tmp_path / 'system')
    args = {'name': 'sgen-sys', 'image': images.app, 'format': 'unit', 'scope': 'system', 'dest': dest, 'daemon_reload': False,
            'command': 'httpd -f -p 8080', 'volumes': ['/tmp:/host-tmp:ro'], 'labels': {'a': 'x y'},
            'auth_file': '/etc/containers/auth.json', 'after': ['remote-fs.target']}
    path = os.path.join(dest, 'container-sgen-sys.service')
    _first, second = _four_steps(run_module, args, None, path)
    assert 'WantedBy=multi-user.target' in second['content']
    assert '--authfile /etc/containers/auth.json' in second['content']
    proc = subprocess.run(['systemd-analyze', '--man=no', 'verify', path],  # see UserManager.verify stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stdout


def test_from_container(images, run_module, tmp_path):
    name = 'sgen-from-%d' % os.getpid()
    podman('create', '--name', name, '-e', 'MODE=a b', '--label', 'k=v', images.app, 'httpd', '-f', '-p', '8080')
    try:
        res = run_module('systemd_generate', {'name': name, 'from_container': True, 'dest': str(tmp_path),
                                              'daemon_reload': False})
        _no_traceback(res)
        assert res['changed'] is True, res
        assert '--name %s' % name in res['content']
        assert '-e "MODE=a b"' in res['content']
        assert '%s httpd -f -p 8080' % images.app in res['content']
        bad = run_module('systemd_generate', {'name': name, 'from_container': True, 'format': 'quadlet',
                                              'dest': str(tmp_path), 'daemon_reload': False})
        assert bad.get('failed') and 'format=unit' in bad['msg']
        missing = run_module('systemd_generate', {'name': name + '-nope', 'from_container': True,
                                                  'dest': str(tmp_path), 'daemon_reload': False})
        assert missing.get('failed') and 'no container named' in missing['msg']
    finally:
        podman('rm', '-f', '--ignore', name, check=False)


def _assert_failed(res, *fragments):
    _no_traceback(res)
    assert res.get('failed') is True, res
    for fragment in fragments:
        assert fragment in res['msg'], res['msg']


def test_unwritable_destinations(images, run_module, tmp_path):
    base = {'name': 'sgen-bad', 'image': images.app, 'daemon_reload': False}
    blocker = tmp_path / 'file'
    blocker.write_text(u'not a directory')
    res = run_module('systemd_generate', dict(base, dest=str(blocker / 'units')))
    _assert_failed(res, 'cannot create directory', 'not a directory')
    assert blocker.read_text() == u'not a directory'

    ro = tmp_path / 'ro'
    ro.mkdir()
    if subprocess.run(['mount', '-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', str(ro)], check=False).returncode != 0:
        pytest.skip('cannot mount a read-only tmpfs here')
    try:
        res = run_module('systemd_generate', dict(base, dest=str(ro)))
        _assert_failed(res, 'cannot write', 'read-only')
        res = run_module('systemd_generate', dict(base, dest=str(ro / 'sub')))
        _assert_failed(res, 'cannot create directory', 'read-only')
        assert os.listdir(str(ro)) == []
    finally:
        subprocess.run(['umount', str(ro)], check=False)


def test_user_scope_without_manager(images, run_module, tmp_path):
    runtime = tmp_path / 'run'
    runtime.mkdir(mode=0o700)
    env = {'XDG_RUNTIME_DIR': str(runtime), 'XDG_CONFIG_HOME': str(tmp_path / 'config'),
           'DBUS_SESSION_BUS_ADDRESS': 'unix:path=%s/bus' % runtime}
    args = {'name': 'sgen-nomgr', 'image': images.app, 'format': 'unit', 'scope': 'user'}
    for check in (True, False):
        res = run_module('systemd_generate', args, check=check, env=env)
        _assert_failed(res, 'no systemd user manager for root', 'loginctl enable-linger root')
    assert not (tmp_path / 'config').exists(), 'the unit was written although no manager can load it'
    ok = run_module('systemd_generate', dict(args, daemon_reload=False), env=env)
    assert ok['changed'] is True and ok['path'].startswith(str(tmp_path / 'config' / 'systemd' / 'user'))


def test_inexpressible_and_refused(images, run_module, tmp_path):
    base = {'name': 'sgen-x', 'image': images.app, 'dest': str(tmp_path), 'daemon_reload': False}
    res = run_module('systemd_generate', dict(base, env={'A': 'line1\nline2'}))
    _assert_failed(res, 'env', 'newline')
    res = run_module('systemd_generate', dict(base, auth_file='/run/containers/0/auth.json'))
    _assert_failed(res, 'auth_file', 'reboot')
    res = run_module('systemd_generate', dict(base, unit_name='web@.service'))
    _assert_failed(res, 'unit_name')
    assert os.listdir(str(tmp_path)) == []
