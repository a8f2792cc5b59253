"""The README's main-job command, end to end, in a temporary directory.

scripts/demo.sh logs in and inspects, deploys the demo image as a boot-time service (roles/container_service), shows
its page, "reboots" the private systemd user manager (this machine has no systemd as PID 1) and shows the page again
with no Ansible run in between, then removes the service and stops the manager and the registry it started.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import json
import os
import pathlib
import subprocess
import time

from tools import has_quadlet, podman, secret_scan

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVICE = 'podkit-demo-web'
UNIT = 'container-%s.service' % SERVICE
PAGE = '<h1>podkit.containers demo</h1>'


def _pid1_is_systemd():
    with open('/proc/1/comm') as f:
        return f.read().strip() == 'systemd'


def _processes_of(demo_dir):
    """Processes the demo started and left: a registry serving its config, a systemd whose runtime dir is in it."""
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as f:
                cmdline = f.read().replace(b'\0', b' ').decode('utf-8', 'replace')
            environ = b''
            if 'systemd' in cmdline:
                with open('/proc/%s/environ' % entry, 'rb') as f:
                    environ = f.read()
        except (IOError, OSError):   # gone meanwhile, or not ours to read
            continue
        if 'docker-registry' in cmdline and demo_dir in cmdline:
            found.append((entry, cmdline))
        elif b'XDG_RUNTIME_DIR=' + demo_dir.encode() in environ:
            found.append((entry, cmdline))
    return found


def test_demo_script(tmp_path):
    demo_dir = str(tmp_path / 'demo')
    env = dict(os.environ, PODKIT_DEMO_DIR=demo_dir)
    env.pop('PODKIT_DEMO_KEEP', None)
    started = time.time()
    proc = subprocess.run([os.path.join(ROOT, 'scripts', 'demo.sh')], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, env=env, timeout=900, check=False)
    took = time.time() - started
    out = proc.stdout
    assert proc.returncode == 0, out[-6000:]
    if has_quadlet():  # the role's default format (auto) is Quadlet there
        assert 'became %s.service through podman\'s generator' % SERVICE in out, out[-6000:]
    assert 'failed=0' in out and 'failed=1' not in out and 'second login changed: False' in out, out[-6000:]

    # the service answered: the play's own check, then curl before and (private manager) after the "reboot"
    assert 'answered 200: %s' % PAGE in out, out[-6000:]
    assert '(before the reboot): %s' % PAGE in out, out[-6000:]
    if not _pid1_is_systemd():
        assert 'container %s gone' % SERVICE in out, out[-6000:]
        assert '(after the reboot, no Ansible run): %s' % PAGE in out, out[-6000:]
    assert 'removing the service' in out and 'stopped and removed what the demo started' in out, out[-3000:]

    # the password: never in the output, the registry's log, or anything of the private manager (its log, units, and
    # the service's auth file, which the demo logs out of at the end)
    secrets = dict(line.split(': ', 1) for line in (tmp_path / 'demo' / 'secrets.yml').read_text().splitlines())
    password = secrets['demo_password']
    systemd_dir = tmp_path / 'demo' / 'systemd'
    secret_scan([out, tmp_path / 'demo' / 'registry.log', systemd_dir], [password, '%s:%s' % (secrets['demo_username'], password)])
    assert (tmp_path / 'demo' / 'secrets.yml').stat().st_mode & 0o077 == 0

    # nothing left running or installed
    unit_dir = systemd_dir / 'config' / 'systemd' / 'user'
    assert not (unit_dir / UNIT).exists(), 'unit file left behind'
    assert not (systemd_dir / 'config' / 'containers' / 'systemd' / (SERVICE + '.container')).exists(), \
        'Quadlet file left behind'
    assert not os.path.lexists(str(unit_dir / 'default.target.wants' / UNIT)), 'unit left enabled'
    assert podman('container', 'exists', SERVICE, check=False).returncode == 1, 'container %s left behind' % SERVICE
    assert _processes_of(demo_dir) == [], 'processes of the demo left running'
    assert not (tmp_path / 'demo' / 'registry.pid').exists()
    assert not (systemd_dir / 'manager.pid').exists()
    cgroup = 'podkit-demo-%s' % hashlib.sha256(demo_dir.encode()).hexdigest()[:8]   # demo.sh names it so
    left = [p for p in [pathlib.Path('/sys/fs/cgroup', cgroup)] + list(pathlib.Path('/sys/fs/cgroup').glob('*/' + cgroup))
            if p.exists()]
    assert not left, 'cgroup of the private manager left behind: %s' % left
    # the service's credentials were logged out again (the registry they were for is gone)
    auth = systemd_dir / 'config' / 'containers' / 'auth.json'
    if auth.exists():
        assert json.loads(auth.read_text()).get('auths', {}) == {}
    print('demo.sh took %.1fs' % took)
