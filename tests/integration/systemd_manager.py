"""A real systemd user manager for the integration tests (no systemd is PID 1 on the test machines).

``UserManager(workdir)`` runs ``/lib/systemd/systemd --user`` with its own XDG_RUNTIME_DIR and
XDG_CONFIG_HOME under ``workdir``, so unit files land in ``<workdir>/config/systemd/user`` and nothing
of the real root session is touched. ``reboot()`` makes the manager exit (``systemctl --user exit``),
waits until its process is gone, and starts a fresh one: enabled units come back like after a boot.

Use the ``user_manager`` fixture (import it into the test module: ``from systemd_manager import user_manager``).
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import subprocess
import time

import pytest

SYSTEMD = '/lib/systemd/systemd'


def mask_network_wait(unit_dir):
    """podman 5's Quadlet services of a user wait (up to 90 s) for the system manager's network-online.target
    (podman-user-wait-network-online.service). No system manager runs on the test machines, so it never comes: masked
    in the test managers' own unit directory (on a real host the system manager brings the target up)."""
    link = os.path.join(unit_dir, 'podman-user-wait-network-online.service')
    if not os.path.lexists(link):
        os.symlink('/dev/null', link)


class UserManager(object):
    def __init__(self, workdir):
        self.workdir = str(workdir)
        self.runtime_dir = os.path.join(self.workdir, 'run')
        self.config_home = os.path.join(self.workdir, 'config')
        self.unit_dir = os.path.join(self.config_home, 'systemd', 'user')
        self.log_path = os.path.join(self.workdir, 'manager.log')
        self.proc = None
        os.makedirs(self.runtime_dir, mode=0o700, exist_ok=True)
        os.chmod(self.runtime_dir, 0o700)
        os.makedirs(self.unit_dir, exist_ok=True)
        mask_network_wait(self.unit_dir)
        # systemctl and the manager itself check for this directory to decide that "systemd is running".
        os.makedirs('/run/systemd/system', exist_ok=True)

    @property
    def env(self):
        """What a client (systemctl, the module) needs to reach this manager."""
        return {'XDG_RUNTIME_DIR': self.runtime_dir, 'XDG_CONFIG_HOME': self.config_home,
                'DBUS_SESSION_BUS_ADDRESS': 'unix:path=%s/bus' % self.runtime_dir}

    def _environ(self):
        env = dict(os.environ)
        env.update(self.env)
        return env

    def start(self, timeout=30):
        with open(self.log_path, 'ab') as log:
            self.proc = subprocess.Popen([SYSTEMD, '--user'], stdout=log, stderr=subprocess.STDOUT,
                                         env=self._environ(), start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('systemd --user exited (rc=%s); log:\n%s' % (self.proc.returncode, self.log()))
            if self.systemctl('is-system-running', check=False).stdout.strip() in ('running', 'degraded'):
                return self
            time.sleep(0.2)
        raise RuntimeError('systemd --user did not come up within %ss; log:\n%s' % (timeout, self.log()))

    def stop(self, timeout=60):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.systemctl('exit', check=False)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def reboot(self):
        """End the user session (units stop) and start a new one (enabled units start)."""
        self.stop()
        self.start()

    def systemctl(self, *args, **kw):
        check = kw.pop('check', True)
        proc = subprocess.run(['systemctl', '--user'] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, env=self._environ(), timeout=kw.pop('timeout', 120), check=False)
        if check and proc.returncode != 0:
            raise AssertionError('systemctl --user %s failed (rc=%s): %s%s' % (' '.join(args), proc.returncode,
                                                                               proc.stdout, proc.stderr))
        return proc

    def verify(self, path):
        """`systemd-analyze --user verify` of a unit file: (rc, output). --man=no: whether `man` is installed (not in
        a minimal Debian 13) says nothing about the unit; systemd 257 fails Documentation=man: without it."""
        proc = subprocess.run(['systemd-analyze', '--user', '--man=no', 'verify', path], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, env=self._environ(), timeout=120, check=False)
        return proc.returncode, proc.stdout

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()[-4000:]
        except IOError:
            return ''


@pytest.fixture(scope='module')
def user_manager(tmp_path_factory):
    manager = UserManager(tmp_path_factory.mktemp('systemd-user')).start()
    yield manager
    manager.stop()
