# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""podman secrets, volumes and networks: the CLI calls and the pure drift decisions (internal; no stable API).

ObjectEngine extends PodmanEngine with ``podman secret|volume|network create/rm/inspect`` and the lookup of the
containers that use an object. A secret's value reaches podman on stdin only, so it is never in an argv (which every
PodmanError carries); what records a secret's value is a keyed hash (HMAC-SHA256 under a random per-secret salt)
kept in two labels of the secret, so a second run can tell "same value" without podman ever returning it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import hmac
import json
import os

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError, PodmanError
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.podman import PodmanEngine, _first_line

# The labels that hold a secret's keyed hash; users' labels may not use them.
SALT_LABEL = 'io.podkit.secret.salt'
HMAC_LABEL = 'io.podkit.secret.hmac'
HASH_LABELS = (SALT_LABEL, HMAC_LABEL)

# podman's own limit (pkg/secrets): larger or empty data is refused.
MAX_SECRET_BYTES = 512000

_NOT_FOUND = ('no such secret', 'no such volume', 'network not found', 'no such network', 'unable to find network')


def value_hmac(salt_hex, value):
    """Hex HMAC-SHA256 of ``value`` (bytes) keyed by the salt: comparable across runs, not reversible."""
    return hmac.new(bytes.fromhex(salt_hex), value, hashlib.sha256).hexdigest()


def new_salt():
    return os.urandom(16).hex()


def same_value(labels, value):
    """Whether the secret whose ``labels`` these are holds ``value``; None when it carries no hash of ours."""
    salt, recorded = (labels or {}).get(SALT_LABEL), (labels or {}).get(HMAC_LABEL)
    if not salt or not recorded:
        return None
    try:
        return hmac.compare_digest(value_hmac(salt, value), recorded)
    except ValueError:  # a salt that is not hex: not ours after all
        return None


def labels_drift(wanted, current, ignore=()):
    """{label: (current, wanted)} for every label that differs; the labels a podman object has are exactly its
    task's (an object is created from its task, so an extra label is drift too), apart from ``ignore``."""
    current = dict((k, v) for k, v in (current or {}).items() if k not in ignore)
    wanted = wanted or {}
    return dict((k, (current.get(k), wanted.get(k))) for k in sorted(set(current) | set(wanted))
                if current.get(k) != wanted.get(k))


def options_drift(wanted, current):
    """{option: (current, wanted)} for the options the task sets that differ (podman adds its own, e.g. ``path``)."""
    current = current or {}
    return dict((k, (current.get(k), v)) for k, v in sorted((wanted or {}).items()) if current.get(k) != v)


def string_map(name, value):
    """A dict option as {str: str}: podman keeps labels and options as strings."""
    out = {}
    for key, item in (value or {}).items():
        if item is None or isinstance(item, (dict, list)):
            raise ConfigError('%s.%s must be a string, number or boolean' % (name, key))
        if isinstance(item, bool):
            item = 'true' if item else 'false'
        out[str(key)] = str(item)
    return out


def refuse_in_use(kind, name, users, action, reasons, force):
    """The one refusal of a volume or network that containers use: removing or recreating it would take their
    data or network away, so that needs force=true (podman's own --force then removes those containers)."""
    if users and not force:
        why = 'state=absent' if action == 'remove' else 'its %s differ' % ' and '.join(reasons)
        raise ConfigError('%s %s is used by the container(s) %s and is not removed (%s): remove them first, or '
                          'set force=true to remove them with it' % (kind, name, ', '.join(users), why), containers=users)


def _text(data):
    return data.decode('utf-8', 'replace') if isinstance(data, bytes) else data


class ObjectEngine(PodmanEngine):
    """PodmanEngine plus secrets, volumes and networks.

    ``run_command`` may be a binary one (common.command_runner(module, binary=True)): AnsibleModule.run_command
    appends a newline to text stdin, which would become part of a secret, so the module hands over bytes and gets
    bytes back, decoded here.
    """

    def __init__(self, run_command, executable='podman', which=None):
        def run(argv, data=None, env=None):
            rc, out, err = run_command(argv, data=data, env=env)
            return rc, _text(out), _text(err)
        super(ObjectEngine, self).__init__(run, executable=executable, which=which)

    def _object_run(self, args, what, data=None):
        argv = [self.executable] + list(args)
        rc, out, err = self._run_command(argv, data=data, env=None)
        if rc != 0:
            raise PodmanError('%s: %s' % (what, _first_line(err)), cmd=argv, rc=rc, stderr=err)
        return out

    def inspect_object(self, kind, name):
        """The ``podman KIND inspect`` object named ``name``, or None when there is none.

        ``secret inspect`` of podman 4.3 has no ``--format json`` (it prints the word): its default output is JSON.
        """
        argv = [self.executable, kind, 'inspect', name]
        rc, out, err = self._run_command(argv, env=None)
        if rc != 0:
            if any(marker in (err or '').lower() for marker in _NOT_FOUND):
                return None
            raise PodmanError('podman %s inspect failed for %s: %s' % (kind, name, _first_line(err)),
                              cmd=argv, rc=rc, stderr=err)
        try:
            data = json.loads(out or '[]')
        except ValueError:
            raise PodmanError('podman %s inspect printed no JSON for %s' % (kind, name), cmd=argv, rc=rc)
        for item in data if isinstance(data, list) else ():
            # ``inspect`` also matches an id prefix: only an object of that very name counts.
            spec = item.get('Spec') or {}
            if name in (item.get('Name'), item.get('name'), spec.get('Name')):
                return item
        return None

    def create_secret(self, name, value, driver, driver_opts, labels):
        """``podman secret create NAME -`` with the value on stdin (bytes), never in the argv."""
        args = ['secret', 'create', '--driver', driver]
        for key, item in sorted(driver_opts.items()):
            args += ['--driver-opts', '%s=%s' % (key, item)]
        for key, item in sorted(labels.items()):
            args += ['--label', '%s=%s' % (key, item)]
        self._object_run(args + [name, '-'], 'podman secret create failed for secret %s' % name, data=value)

    def create_volume(self, name, driver, options, labels):
        args = ['volume', 'create', '--driver', driver]
        for key, item in sorted(options.items()):
            args += ['--opt', '%s=%s' % (key, item)]
        for key, item in sorted(labels.items()):
            args += ['--label', '%s=%s' % (key, item)]
        self._object_run(args + [name], 'podman volume create failed for volume %s' % name)

    def create_network(self, name, args):
        self._object_run(['network', 'create'] + list(args) + [name], 'podman network create failed for network %s' % name)

    def remove_object(self, kind, name, force=False):
        args = [kind, 'rm'] + (['--force'] if force else []) + [name]
        self._object_run(args, 'podman %s rm failed for %s %s' % (kind, kind, name))

    def users(self, kind, name):
        """Names of the containers (any state) that use the volume/network/secret ``name``, sorted."""
        if kind in ('volume', 'network'):
            out = self._object_run(['ps', '--all', '--filter', '%s=%s' % (kind, name), '--format', '{{.Names}}'],
                                   'podman ps failed')
            return sorted(line.strip() for line in out.splitlines() if line.strip())
        # ``ps`` has no secret filter: the containers' own records (Config.Secrets) say it.
        ids = [line.strip() for line in self._object_run(['ps', '--all', '--format', '{{.ID}}'], 'podman ps failed').splitlines()
               if line.strip()]
        if not ids:
            return []
        out = self._object_run(['container', 'inspect'] + ids, 'podman container inspect failed')
        try:
            containers = json.loads(out or '[]')
        except ValueError:
            raise PodmanError('podman container inspect printed no JSON')
        found = []
        for container in containers:
            for secret in (container.get('Config') or {}).get('Secrets') or ():
                if secret.get('Name') == name:
                    found.append(container.get('Name', '').lstrip('/'))
        return sorted(found)
