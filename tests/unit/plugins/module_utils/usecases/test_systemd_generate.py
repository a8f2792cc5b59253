# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd_generate's use case with a fake systemctl: write, reload, check mode, restore on a failed reload."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError, SystemdError
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle import systemd
from ansible_collections.podkit.containers.plugins.module_utils.usecases import systemd_generate


# ------------------------------------------------------------------ install flow (fake systemctl)

class FakeRun(object):
    def __init__(self, reachable=True, reload_rc=0):
        self.calls = []
        self.reachable = reachable
        self.reload_rc = reload_rc

    def __call__(self, argv, data=None, env=None):
        self.calls.append(argv)
        if 'show' in argv:
            return (0, 'Version=252\n', '') if self.reachable else (1, '', 'Failed to connect to bus')
        if 'daemon-reload' in argv:
            return self.reload_rc, '', 'reload broke'
        raise AssertionError(argv)


def _params(tmp_path, **kw):
    params = dict(name='web', image='localhost/app:1', dest=str(tmp_path), state='present', format='unit',
                  daemon_reload=True, executable='/usr/bin/podman')
    params.update(kw)
    return params


def test_generate_writes_then_reloads(tmp_path):
    run = FakeRun()
    res = systemd_generate.generate(_params(tmp_path, scope='user'), run, environ={'HOME': str(tmp_path)}, uid=0)
    assert res['changed'] and res['daemon_reloaded']
    assert [c[-1] for c in run.calls] == ['--property=Version', 'daemon-reload']
    assert run.calls[0][:2] == ['systemctl', '--user']
    again = systemd_generate.generate(_params(tmp_path, scope='user'), run, environ={}, uid=0)
    assert not again['changed'] and len(run.calls) == 2


def test_generate_check_mode_writes_nothing(tmp_path):
    run = FakeRun()
    res = systemd_generate.generate(_params(tmp_path), run, check_mode=True, environ={}, uid=0)
    assert res['changed'] and not res['daemon_reloaded']
    assert os.listdir(str(tmp_path)) == []
    assert res['diff']['before_header'].endswith('(absent)')


def test_generate_without_manager_writes_nothing(tmp_path):
    with pytest.raises(SystemdError) as exc:
        systemd_generate.generate(_params(tmp_path, scope='user'), FakeRun(reachable=False), environ={}, uid=0)
    assert 'no systemd user manager for root' in exc.value.msg
    assert 'loginctl enable-linger root' in exc.value.msg
    assert os.listdir(str(tmp_path)) == []


def test_generate_failed_reload_restores_previous_file(tmp_path):
    path = tmp_path / 'container-web.service'
    path.write_text(u'old\n')
    with pytest.raises(SystemdError):
        systemd_generate.generate(_params(tmp_path), FakeRun(reload_rc=1), environ={}, uid=0)
    assert path.read_text() == u'old\n'
    with pytest.raises(SystemdError):
        systemd_generate.generate(_params(tmp_path, name='new'), FakeRun(reload_rc=1), environ={}, uid=0)
    assert not (tmp_path / 'container-new.service').exists()


def test_generate_absent(tmp_path):
    run = FakeRun()
    systemd_generate.generate(_params(tmp_path), run, environ={}, uid=0)
    res = systemd_generate.generate(_params(tmp_path, state='absent', image=None), run, check_mode=True, environ={}, uid=0)
    assert res['changed'] and (tmp_path / 'container-web.service').exists()
    res = systemd_generate.generate(_params(tmp_path, state='absent', image=None), run, environ={}, uid=0)
    assert res['changed'] and res['daemon_reloaded'] and not (tmp_path / 'container-web.service').exists()
    res = systemd_generate.generate(_params(tmp_path, state='absent', image=None), run, environ={}, uid=0)
    assert not res['changed']


# ------------------------------------------------------------------ format=auto

class VersionRun(FakeRun):
    """FakeRun that also answers `podman version --format json` with ``version``."""

    def __init__(self, version, **kw):
        super(VersionRun, self).__init__(**kw)
        self.version = version

    def __call__(self, argv, env):
        if argv[1:2] == ['version']:
            self.calls.append(argv)
            return 0, '{"Client": {"Version": "%s"}}' % self.version, ''
        return super(VersionRun, self).__call__(argv, env)


def _fake_podman(tmp_path):
    path = tmp_path / 'podman'
    path.write_text(u'#!/bin/sh\nexit 1\n')
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize('version, fmt, file_name', [
    ('4.3.1', 'unit', 'container-web.service'),
    ('4.4.0', 'quadlet', 'web.container'),
    ('5.4.2', 'quadlet', 'web.container'),
])
def test_auto_format_follows_the_podman_version(tmp_path, version, fmt, file_name):
    units = tmp_path / 'units'
    params = _params(units, format='auto', executable=_fake_podman(tmp_path))
    run = VersionRun(version)
    res = systemd_generate.generate(params, run, environ={}, uid=0)
    assert res['format'] == fmt and res['path'] == str(units / file_name)
    assert os.listdir(str(units)) == [file_name]
    assert run.calls[0][1:2] == ['version']


def test_auto_format_keeps_the_installed_file(tmp_path):
    """A container installed as a unit under podman 4.3 stays a unit after an upgrade to 5 (no second service)."""
    params = _params(tmp_path, format='auto', executable=_fake_podman(tmp_path))
    first = systemd_generate.generate(params, VersionRun('4.3.1'), environ={}, uid=0)
    assert first['format'] == 'unit'
    later = VersionRun('5.4.2')
    again = systemd_generate.generate(params, later, environ={}, uid=0)
    assert again['format'] == 'unit' and again['changed'] is False
    assert not any(c[1:2] == ['version'] for c in later.calls), 'the installed file decides; podman is not asked'
    gone = systemd_generate.generate(dict(params, state='absent', image=None), VersionRun('5.4.2'), environ={}, uid=0)
    assert gone['changed'] and gone['format'] == 'unit' and os.listdir(str(tmp_path)) == ['podman']


def test_auto_format_unreadable_version(tmp_path):
    params = _params(tmp_path / 'units', format='auto', executable=_fake_podman(tmp_path))
    with pytest.raises(ConfigError) as exc:
        systemd_generate.generate(params, VersionRun('dev'), environ={}, uid=0)
    assert 'format=auto' in exc.value.msg and 'set format' in exc.value.msg
    assert not (tmp_path / 'units').exists()


def test_auto_format_from_container_is_a_unit():
    assert systemd.auto_format('5.4.2', installed='unit') == 'unit'
    assert systemd.auto_format('v4.4.1') == 'quadlet' and systemd.auto_format('4.3.1') == 'unit'
