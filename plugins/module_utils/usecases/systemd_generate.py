# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The core of systemd_generate (internal; no stable API): render, install or remove the unit, reload.

Order, so that a failure never leaves a unit half-installed:
  1. render (ConfigError for anything a unit cannot express) and compare with the file on disk;
  2. nothing differs -> done (no manager is contacted);
  3. with daemon_reload, make sure the manager of the scope answers -- also in check mode, so that
     check mode predicts the failure -- else SystemdError before anything is written;
  4. check mode stops here;
  5. write atomically (or remove), then daemon-reload; if the reload fails the previous file is put
     back (or the new one removed) before the SystemdError is raised.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import posixpath
import pwd
import shutil

from ansible_collections.podkit.containers.plugins.module_utils import files
from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError, SystemdError
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle import systemd
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.podman import PodmanEngine
# container_spec_argspec: the module's container spec options (the table), which it takes from here.
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.spec import (  # noqa: F401  pylint: disable=unused-import
    argument_spec as container_spec_argspec,
)
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.spec import fold_spec


def _user_name(uid=None):
    uid = os.getuid() if uid is None else uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


class Systemctl(object):
    """systemctl for one scope behind a ``run(argv, data=None, env=None) -> (rc, out, err)`` callable."""

    def __init__(self, run, scope, environ=None, systemctl='systemctl', uid=None):
        self.run = run
        self.scope = scope
        self.environ = os.environ if environ is None else environ
        self.systemctl = systemctl
        self.uid = os.getuid() if uid is None else uid
        self.user = _user_name(self.uid)

    def _env(self):
        if self.scope != 'user':
            return {}
        env = {}
        runtime_dir = self.environ.get('XDG_RUNTIME_DIR')
        if not runtime_dir:
            # `become` usually drops the session's environment; the manager's directory is still there.
            guess = '/run/user/%d' % self.uid
            if os.path.isdir(guess):
                env['XDG_RUNTIME_DIR'] = runtime_dir = guess
        if runtime_dir and not self.environ.get('DBUS_SESSION_BUS_ADDRESS'):
            bus = posixpath.join(runtime_dir, 'bus')
            if os.path.exists(bus):
                env['DBUS_SESSION_BUS_ADDRESS'] = 'unix:path=%s' % bus
        return env

    def _argv(self, *args):
        return [self.systemctl] + (['--user'] if self.scope == 'user' else []) + list(args)

    def _no_manager(self, err):
        if self.scope == 'user':
            return SystemdError('no systemd user manager for %s: enable lingering (loginctl enable-linger %s) or log '
                                'in, so that `systemctl --user` can reach it' % (self.user, self.user),
                                user=self.user, stderr=(err or '').strip())
        return SystemdError('no systemd system manager to reach (is systemd PID 1 here?); run with '
                            'daemon_reload=false to only write the file', stderr=(err or '').strip())

    def ensure_reachable(self):
        argv = self._argv('show', '--property=Version')
        try:
            rc, out, err = self.run(argv, env=self._env())
        except OSError as exc:
            raise SystemdError('cannot run %s: %s' % (self.systemctl, exc), cmd=argv)
        if rc != 0 or 'Version=' not in (out or ''):
            raise self._no_manager(err)

    def daemon_reload(self):
        argv = self._argv('daemon-reload')
        rc, _out, err = self.run(argv, env=self._env())
        if rc != 0:
            raise SystemdError('%s failed (rc=%s): %s' % (' '.join(argv), rc, (err or '').strip()),
                               cmd=argv, rc=rc, stderr=(err or '').strip())


def _inspect(run, podman_path, name):
    """podman's record of an existing container (the lifecycle engine's when it is there)."""
    engine = PodmanEngine(run, executable=podman_path)
    info = engine.inspect_container(name)
    if not info:
        raise ConfigError('from_container: there is no container named %s to render the unit from' % name,
                          option='from_container')
    return info


def _podman_path(executable):
    """An absolute path for ExecStart: as given, found in PATH, or podman's packaged location."""
    executable = executable or 'podman'
    if posixpath.isabs(executable):
        return executable
    return shutil.which(executable) or systemd.DEFAULT_PODMAN


def _installed_format(params, scope, environ):
    """The format whose file for this container is already there (unit first), or None."""
    unit_name = params.get('unit_name')
    for fmt in systemd.FORMATS:
        if fmt == 'unit' and unit_name and unit_name.endswith('.container'):
            continue
        _service, file_name = systemd.unit_file_name(fmt, params['name'], unit_name)
        directory = params.get('dest') or systemd.default_directory(fmt, scope, environ=environ)
        if os.path.exists(posixpath.join(directory, file_name)):
            return fmt
    return None


def _resolve_format(params, run, scope, environ, podman_path):
    fmt = params.get('format') or systemd.AUTO_FORMAT
    if fmt != systemd.AUTO_FORMAT:
        return fmt
    if params.get('from_container'):
        return 'unit'  # the only format a recorded command line can become
    installed = _installed_format(params, scope, environ)
    if installed:
        return installed
    engine = PodmanEngine(lambda argv, data=None, env=None: run(argv, env or {}), executable=podman_path)
    return systemd.auto_format((engine.version().get('Client') or {}).get('Version'))


def generate(params, run, check_mode=False, environ=None, uid=None, podman_path=None):
    """The whole task: returns the module result dict; raises PodkitError."""
    params = fold_spec(params)
    environ = os.environ if environ is None else environ
    uid = os.getuid() if uid is None else uid
    scope = params.get('scope') or ('system' if uid == 0 else 'user')
    podman_path = podman_path or _podman_path(params.get('executable'))
    fmt = _resolve_format(params, run, scope, environ, podman_path)
    name = params['name']

    spec = None
    raw_args = None
    stop_timeout = params.get('stop_timeout')
    if params.get('from_container') and params.get('state', 'present') == 'present':
        given = [k for k in ('image',) + systemd.SPEC_OPTIONS if k != 'stop_timeout' and params.get(k) is not None]
        if given:
            raise ConfigError('from_container renders the options of the existing container; %s cannot be set with it'
                              % ', '.join(given), options=given)
        info = _inspect(run, podman_path, name)
        config = info.get('Config') or {}
        raw_args = systemd.args_from_create_command(config.get('CreateCommand'), info.get('ImageName'), info.get('Image'))
        if stop_timeout is None and config.get('StopTimeout') is not None:
            stop_timeout = config['StopTimeout']

    opts = systemd.UnitOptions(
        name, scope=scope, unit_name=params.get('unit_name'), restart_policy=params.get('restart_policy') or 'on-failure',
        restart_sec=params.get('restart_sec'), stop_timeout=stop_timeout, after=params.get('after'),
        wants=params.get('wants'), requires=params.get('requires'), environment=params.get('environment'),
        auth_file=params.get('auth_file'), podman_path=podman_path, runtime_dir=environ.get('XDG_RUNTIME_DIR'))
    service_name, file_name = systemd.unit_file_name(fmt, name, params.get('unit_name'))
    directory = params.get('dest') or systemd.default_directory(fmt, scope, environ=environ)
    path = posixpath.join(directory, file_name)
    manager = Systemctl(run, scope, environ=environ, uid=uid)
    reload_wanted = params.get('daemon_reload', True)

    if params.get('state', 'present') == 'absent':
        content = None
        before = files.read_text(path)
        if before is None:
            return _result(False, service_name, path, None, files.diff_of(path, None, None), False, fmt)
        if reload_wanted:
            manager.ensure_reachable()
        result = files.remove_file(path, check_mode=check_mode)
        reloaded = _reload(manager, reload_wanted, check_mode, path, before)
        return _result(result.changed, service_name, path, content, result.diff, reloaded, fmt)

    if raw_args is None:
        if not params.get('image'):
            raise ConfigError('image is required with state=present (or set from_container=true)', option='image')
        spec = systemd.container_spec(name, params)
    _sn, _fn, content = systemd.render(fmt, spec, opts, raw_args=raw_args)
    before = files.read_text(path)
    if before == content:
        result = files.ensure_file(path, content, check_mode=check_mode)  # the mode may still differ
        return _result(result.changed, service_name, path, content, result.diff, False, fmt)
    if reload_wanted:
        manager.ensure_reachable()
    result = files.ensure_file(path, content, check_mode=check_mode)
    reloaded = _reload(manager, reload_wanted, check_mode, path, before)
    return _result(result.changed, service_name, path, content, result.diff, reloaded, fmt)


def _reload(manager, wanted, check_mode, path, before):
    if not wanted or check_mode:
        return False
    try:
        manager.daemon_reload()
    except SystemdError:
        files.restore(path, before)
        raise
    return True


def _result(changed, service_name, path, content, diff, reloaded, fmt):
    return dict(changed=changed, unit_name=service_name, path=path, content=content, diff=diff,
                daemon_reloaded=reloaded, format=fmt)
