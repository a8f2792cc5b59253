# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""volume's core (internal; no stable API): a podman volume with a driver, options and labels.

A volume holds data: drift of its driver, options or labels is refused unless force (recreating empties it), it is
never recreated or removed while a container uses it unless force, and removed only with state=absent.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.objects import (
    ObjectEngine, labels_drift, options_drift, refuse_in_use, string_map,
)


def _facts(current):
    if current is None:
        return None
    return dict(name=current.get('Name'), driver=current.get('Driver'), options=dict(current.get('Options') or {}),
                labels=dict(current.get('Labels') or {}), mountpoint=current.get('Mountpoint'))


def plan_volume(current, driver, options, labels):
    """(action, reasons): None, 'create' or 'recreate', and the settings that differ."""
    if current is None:
        return 'create', ['missing']
    facts = _facts(current)
    reasons = []
    if facts['driver'] != driver:
        reasons.append('driver')
    if options_drift(options, facts['options']) or set(facts['options']) - set(options):
        reasons.append('options')
    if labels_drift(labels, facts['labels']):
        reasons.append('labels')
    return ('recreate' if reasons else None), reasons


def _shown(facts):
    if facts is None:
        return dict(state='absent')
    return dict(state='present', name=facts['name'], driver=facts['driver'], options=facts['options'], labels=facts['labels'])


def run(params, run_command, check_mode=False):
    name = params['name']
    engine = ObjectEngine(run_command, params.get('executable') or 'podman')
    driver = params.get('driver') or 'local'
    options = string_map('options', params.get('options'))
    labels = string_map('labels', params.get('labels'))
    force = bool(params.get('force'))
    current = engine.inspect_object('volume', name)
    facts = _facts(current)
    header = 'podman volume %s' % name
    result = dict(changed=False, name=name, containers=[], actions=[])

    if params.get('state') == 'absent':
        after = None
        action = 'remove' if current is not None else None
        reasons = []
    else:
        action, reasons = plan_volume(current, driver, options, labels)
        after = dict(name=name, driver=driver, options=options, labels=labels, mountpoint=None)
    result['reasons'] = reasons
    result['diff'] = dict(before=_shown(facts), after=_shown(after if action else facts),
                          before_header=header, after_header=header)
    if action in ('remove', 'recreate'):
        users = engine.users('volume', name)
        result['containers'] = users
        refuse_in_use('volume', name, users, action, reasons, force)
    if action == 'recreate' and not force:
        # Unlike a network, a volume created anew is empty: a label edit must not cost the data.
        raise ConfigError('volume %s is not recreated: its %s differ from the task, and recreating it would empty it; '
                          'set force=true to remove it and create it anew, or change the task back'
                          % (name, ' and '.join(reasons)), reasons=reasons)
    if action is None:
        result['volume'] = facts
        return result
    result['changed'] = True
    result['actions'] = {'create': ['create'], 'recreate': ['remove', 'create'], 'remove': ['remove']}[action]
    if check_mode:
        result['volume'] = after
        return result
    if action in ('remove', 'recreate'):
        # --force removes the containers that use it too: reached only with force=true when there are any.
        engine.remove_object('volume', name, force=bool(result['containers']))
    if action == 'remove':
        result['volume'] = None
        return result
    engine.create_volume(name, driver, options, labels)
    result['volume'] = _facts(engine.inspect_object('volume', name))
    return result
