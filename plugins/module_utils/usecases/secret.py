# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""secret's core (internal; no stable API): a podman secret made to hold a value, told apart by a keyed hash.

The value is read here (``data`` or the file ``path`` on the target), handed to podman on stdin, and otherwise
only ever fed to HMAC-SHA256: it is in no result, diff, warning, error or argv.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError, PodkitError
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.objects import (
    HASH_LABELS, HMAC_LABEL, MAX_SECRET_BYTES, SALT_LABEL, ObjectEngine, labels_drift, new_salt, options_drift,
    same_value, string_map, value_hmac,
)


def read_value(data, path):
    """The secret's bytes from ``data`` or the file ``path``; errors name the option, never the value."""
    if data is not None and path is not None:
        raise ConfigError('data and path are mutually exclusive: give the value in one of them')
    if data is None and path is None:
        raise ConfigError('state=present needs the value: set data or path')
    if path is not None:
        try:
            with open(path, 'rb') as handle:
                value = handle.read(MAX_SECRET_BYTES + 1)
        except (IOError, OSError) as exc:
            raise ConfigError('path %s: cannot read the secret file (%s)' % (path, exc.strerror or type(exc).__name__),
                              path=path)
        where = 'the file %s' % path
    else:
        value = data.encode('utf-8') if not isinstance(data, bytes) else data
        where = 'data'
    if not value or len(value) > MAX_SECRET_BYTES:
        raise ConfigError('%s: a podman secret holds 1 to %d bytes, this one has %s'
                          % (where, MAX_SECRET_BYTES, '0' if not value else 'more'))
    return value


def _facts(current):
    if current is None:
        return None
    spec = current.get('Spec') or {}
    driver = spec.get('Driver') or {}
    return dict(name=spec.get('Name'), id=current.get('ID'), driver=driver.get('Name'),
                driver_opts=dict(driver.get('Options') or {}),
                labels=dict((k, v) for k, v in (spec.get('Labels') or {}).items() if k not in HASH_LABELS))


def plan_secret(current, name, value, driver, driver_opts, labels, force=False):
    """(action, reasons, value_state): ``action`` is None, 'create' or 'replace'; ``reasons`` say why (never the
    value); ``value_state`` is what the diff may tell of the value: 'same', 'changed', 'unknown' (no hash of ours)."""
    if current is None:
        return 'create', ['missing'], None
    facts = _facts(current)
    same = same_value((current.get('Spec') or {}).get('Labels'), value)
    value_state = {True: 'same', False: 'changed', None: 'unknown'}[same]
    reasons = []
    if value_state == 'changed':
        reasons.append('value changed')
    elif value_state == 'unknown':
        reasons.append('value not recorded (secret not created by this module)')
    if facts['driver'] != driver:
        reasons.append('driver')
    if options_drift(driver_opts, facts['driver_opts']):
        reasons.append('driver_opts')
    if labels_drift(labels, facts['labels']):
        reasons.append('labels')
    if force and not reasons:
        reasons.append('force')
    return ('replace' if reasons else None), reasons, value_state


def _compared(facts, driver_opts):
    """``facts`` with only the driver options the task sets: podman adds its own (the file driver's ``path``)."""
    if facts is None:
        return None
    return dict(facts, driver_opts=dict((k, v) for k, v in facts['driver_opts'].items() if k in driver_opts))


def _shown(facts, value):
    """What the diff shows of a secret: its settings, and of the value a word."""
    if facts is None:
        return dict(state='absent')
    return dict(state='present', name=facts['name'], driver=facts['driver'], driver_opts=facts['driver_opts'],
                labels=facts['labels'], value=value)


def run(params, run_command, check_mode=False):
    name = params['name']
    engine = ObjectEngine(run_command, params.get('executable') or 'podman')
    labels = string_map('labels', params.get('labels'))
    reserved = sorted(set(labels) & set(HASH_LABELS))
    if reserved:
        raise ConfigError('labels: %s is reserved (this module keeps the hash of the value there): use another label name'
                          % ', '.join(reserved))
    driver = params.get('driver') or 'file'
    driver_opts = string_map('driver_opts', params.get('driver_opts'))
    force = bool(params.get('force'))
    current = engine.inspect_object('secret', name)
    facts = _facts(current)
    result = dict(changed=False, name=name, containers=[], actions=[], warnings=[])
    header = 'podman secret %s' % name

    if params.get('state') == 'absent':
        if current is not None:
            users = engine.users('secret', name)
            result['containers'] = users
            if users and not force:
                raise ConfigError('secret %s is used by the container(s) %s: remove them first, or set force=true to '
                                  'remove the secret anyway (they will not start without it)' % (name, ', '.join(users)),
                                  containers=users)
            result.update(changed=True, actions=['remove'])
            if not check_mode:
                engine.remove_object('secret', name)
        result['secret'] = None
        result['diff'] = dict(before=_shown(facts, 'set'), after=dict(state='absent'),
                              before_header=header, after_header=header)
        return result

    value = read_value(params.get('data'), params.get('path'))
    action, reasons, value_state = plan_secret(current, name, value, driver, driver_opts, labels, force)
    wanted = dict(name=name, id=facts['id'] if facts else None, driver=driver, driver_opts=driver_opts, labels=labels)
    before_value = {'same': 'set', 'changed': 'set', 'unknown': 'set (not recorded)'}.get(value_state)
    after_value = 'set' if action is None else ('replaced' if current is not None else 'set')
    if value_state == 'same' and action:
        after_value = 'set (unchanged)'
    result['diff'] = dict(before=_shown(_compared(facts, driver_opts), before_value), after=_shown(wanted, after_value),
                          before_header=header, after_header=header)
    result['reasons'] = reasons
    if action is None:
        result['secret'] = facts
        return result
    result['changed'] = True
    result['actions'] = ['remove', 'create'] if action == 'replace' else ['create']
    if action == 'replace':
        users = engine.users('secret', name)
        result['containers'] = users
        if users:
            result['warnings'].append('secret %s is replaced: the container(s) %s use it and see the new value only '
                                      'once recreated (or restarted)' % (name, ', '.join(users)))
    if check_mode:
        wanted['id'] = None
        result['secret'] = wanted
        return result
    salt = new_salt()
    stored = dict(labels)
    stored[SALT_LABEL] = salt
    stored[HMAC_LABEL] = value_hmac(salt, value)
    if action == 'replace':
        engine.remove_object('secret', name)
    try:
        engine.create_secret(name, value, driver, driver_opts, stored)
    except PodkitError as err:
        if action == 'replace':
            err.msg = '%s (the old secret %s was removed already)' % (err.msg, name)
        raise
    result['secret'] = _facts(engine.inspect_object('secret', name))
    return result
