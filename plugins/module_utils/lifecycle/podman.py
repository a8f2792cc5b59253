# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PodmanEngine: the podman CLI behind a run_command-like callable (internal; no stable API).

``run_command(argv, data=None, env=None) -> (rc, stdout, stderr)``: a module passes a wrapper around
AnsibleModule.run_command, a test a fake. Every failure is a PodmanError carrying the argv (which never
holds a secret: registry credentials reach podman only through an auth file).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil

from ansible_collections.podkit.containers.plugins.module_utils.errors import PodmanError, PodmanNotFoundError

NOT_INSTALLED_MSG = 'podman is not installed on the target (or not in PATH): install podman or set executable'

# What podman 4.x prints when the object of an inspect does not exist (rc 125 for all of them).
_NOT_FOUND_MARKERS = ('no such container', 'no such object', 'image not known', 'no such image', 'not found')
_MISSING_OBJECT = re.compile(r'no such object: "([^"]*)"')


def _first_line(text):
    """The line of podman's stderr that says what went wrong (pull prints progress lines before "Error: ...")."""
    lines = [line.strip() for line in (text or '').splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith('Error: ')]
    if errors:
        return errors[0][len('Error: '):]
    return lines[0] if lines else '(no error output)'


class PodmanEngine(object):
    """Runs podman; methods return parsed JSON or raise PodmanError."""

    def __init__(self, run_command, executable='podman', which=None):
        self._run_command = run_command
        self.executable = self._find(executable or 'podman', which or shutil.which)

    @staticmethod
    def _find(executable, which):
        if os.sep in executable:
            if os.path.isfile(executable) and os.access(executable, os.X_OK):
                return executable
            raise PodmanNotFoundError('%s (%s is not an executable file)' % (NOT_INSTALLED_MSG, executable))
        path = which(executable)
        if not path:
            raise PodmanNotFoundError(NOT_INSTALLED_MSG)
        return path

    # -- plumbing ----------------------------------------------------------------------------------

    def _run(self, args, what, env=None):
        argv = [self.executable] + list(args)
        try:
            rc, out, err = self._run_command(argv, env=env)
        except OSError as exc:
            # The executable vanished between _find and now, or is not runnable.
            raise PodmanNotFoundError('%s (%s)' % (NOT_INSTALLED_MSG, exc), cmd=argv)
        if rc != 0:
            raise PodmanError('%s: %s' % (what, _first_line(err)), cmd=argv, rc=rc, stderr=err)
        return out

    def _inspect(self, kind, ref):
        argv = [self.executable, kind, 'inspect', '--format', 'json', ref]
        rc, out, err = self._run_command(argv, env=None)
        if rc != 0:
            low = (err or '').lower()
            if any(marker in low for marker in _NOT_FOUND_MARKERS):
                return None
            raise PodmanError('podman %s inspect failed for %s: %s' % (kind, ref, _first_line(err)),
                              cmd=argv, rc=rc, stderr=err)
        try:
            data = json.loads(out or '[]')
        except ValueError:
            raise PodmanError('podman %s inspect printed no JSON for %s' % (kind, ref), cmd=argv, rc=rc)
        return data[0] if data else None

    # -- queries -----------------------------------------------------------------------------------

    def inspect_container(self, name):
        """The container's ``podman container inspect`` object, or None when there is no such container."""
        return self._inspect('container', name)

    def inspect_image(self, ref):
        """The image's ``podman image inspect`` object, or None when it is not in local storage."""
        return self._inspect('image', ref)

    def inspect_container_and_image(self, name, image):
        """(container or None, image or None) with one podman process instead of two.

        A no-op task is mostly these lookups (docs/performance.md), so they share one ``podman inspect``. podman
        prints the objects it found, in argument order, and one "no such object" line per argument it did not
        find; when that accounting does not add up, the two lookups are made separately.
        """
        argv = [self.executable, 'inspect', '--format', 'json', name, image]
        rc, out, err = self._run_command(argv, env=None)
        missing = set(_MISSING_OBJECT.findall(err or ''))
        try:
            objects = json.loads(out or '[]')
        except ValueError:
            objects = None
        found = [ref for ref in (name, image) if ref not in missing]
        unexplained = rc != 0 and not missing
        if objects is None or unexplained or len(found) != len(objects) or name == image:
            return self.inspect_container(name), self.inspect_image(image)
        by_ref = dict(zip(found, objects))
        container = by_ref.get(name)
        if container is not None and 'State' not in container:
            container = None  # ``name`` is an image, not a container
        return container, by_ref.get(image)

    def version(self):
        out = self._run(['version', '--format', 'json'], 'podman version failed')
        try:
            return json.loads(out)
        except ValueError:
            raise PodmanError('podman version printed no JSON', cmd=[self.executable, 'version', '--format', 'json'])

    # -- lifecycle ---------------------------------------------------------------------------------

    def create(self, args, name=None):
        """``podman create <args>``; returns the new container's id."""
        out = self._run(['create'] + list(args), 'podman create failed for container %s' % (name or '?'))
        return out.strip()

    def start(self, name):
        self._run(['start', name], 'podman start failed for container %s' % name)

    def stop(self, name, timeout=None):
        """Send the container's stop signal, then SIGKILL after ``timeout`` seconds (container default when None).

        podman 4.3 ``stop`` has no ``--signal``: the signal is the StopSignal fixed at create time.
        """
        args = ['stop']
        if timeout is not None:
            args += ['--time', str(int(timeout))]
        self._run(args + [name], 'podman stop failed for container %s' % name)

    def kill(self, name, signal='KILL'):
        self._run(['kill', '--signal', str(signal), name], 'podman kill failed for container %s' % name)

    def pause(self, name):
        self._run(['pause', name], 'podman pause failed for container %s' % name)

    def unpause(self, name):
        self._run(['unpause', name], 'podman unpause failed for container %s' % name)

    def restart(self, name, timeout=None):
        args = ['restart']
        if timeout is not None:
            args += ['--time', str(int(timeout))]
        self._run(args + [name], 'podman restart failed for container %s' % name)

    def remove(self, name, force=False, timeout=None):
        args = ['rm']
        if force:
            args.append('--force')
            if timeout is not None:
                args += ['--time', str(int(timeout))]
        self._run(args + [name], 'podman rm failed for container %s' % name)

    def pull(self, ref, auth_file=None, tls_verify=None, platform=None, cert_dir=None, env=None):
        """``podman pull``; returns the pulled image id. Credentials only through ``auth_file``.

        ``cert_dir``: a containers-certs.d(5) directory (CA, client pair); ``env``: extra environment
        (e.g. CONTAINERS_REGISTRIES_CONF).
        """
        args = ['pull', '--quiet']
        if auth_file:
            args += ['--authfile', auth_file]
        if tls_verify is not None:
            args.append('--tls-verify=%s' % ('true' if tls_verify else 'false'))
        if cert_dir:
            args += ['--cert-dir', cert_dir]
        if platform:
            args += ['--platform', platform]
        out = self._run(args + [ref], 'podman pull failed for image %s' % ref, env=env)
        lines = [line.strip() for line in out.splitlines() if line.strip()]
        return lines[-1] if lines else None

    def tag(self, image, name):
        """``podman tag IMAGE NAME``."""
        self._run(['tag', image, name], 'podman tag %s %s failed' % (image, name))
