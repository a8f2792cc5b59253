# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""network's core (internal; no stable API): a podman network, recreated only on drift, never while in use unless
forced."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.objects import (
    ObjectEngine, labels_drift, options_drift, refuse_in_use, string_map,
)


def _facts(current):
    if current is None:
        return None
    subnets = current.get('subnets') or [{}]
    return dict(name=current.get('name'), driver=current.get('driver'), subnet=subnets[0].get('subnet'),
                gateway=subnets[0].get('gateway'), internal=bool(current.get('internal')),
                dns=bool(current.get('dns_enabled')), labels=dict(current.get('labels') or {}),
                options=dict(current.get('options') or {}))


def plan_network(current, wanted):
    """(action, reasons): ``wanted`` settings that are None (subnet, gateway, dns) are podman's choice, not compared."""
    if current is None:
        return 'create', ['missing']
    facts = _facts(current)
    reasons = [key for key in ('driver', 'subnet', 'gateway', 'internal', 'dns')
               if wanted[key] is not None and facts[key] != wanted[key]]
    if options_drift(wanted['options'], facts['options']):
        reasons.append('options')
    if labels_drift(wanted['labels'], facts['labels']):
        reasons.append('labels')
    return ('recreate' if reasons else None), reasons


def _argv(wanted):
    args = ['--driver', wanted['driver']]
    if wanted['subnet']:
        args += ['--subnet', wanted['subnet']]
    if wanted['gateway']:
        args += ['--gateway', wanted['gateway']]
    if wanted['internal']:
        args.append('--internal')
    if wanted['dns'] is False:
        args.append('--disable-dns')
    for flag, values in (('--opt', wanted['options']), ('--label', wanted['labels'])):
        for key, item in sorted(values.items()):
            args += [flag, '%s=%s' % (key, item)]
    return args


def run(params, run_command, check_mode=False):
    name = params['name']
    engine = ObjectEngine(run_command, params.get('executable') or 'podman')
    wanted = dict(name=name, driver=params.get('driver') or 'bridge', subnet=params.get('subnet'),
                  gateway=params.get('gateway'), internal=bool(params.get('internal')), dns=params.get('dns'),
                  labels=string_map('labels', params.get('labels')), options=string_map('options', params.get('options')))
    if wanted['gateway'] and not wanted['subnet']:
        raise ConfigError('gateway needs subnet: set the subnet the gateway %s belongs to' % wanted['gateway'])
    force = bool(params.get('force'))
    current = engine.inspect_object('network', name)
    facts = _facts(current)
    header = 'podman network %s' % name
    result = dict(changed=False, name=name, containers=[], actions=[])
    if params.get('state') == 'absent':
        action, reasons = ('remove' if current is not None else None), []
    else:
        action, reasons = plan_network(current, wanted)
    result['reasons'] = reasons
    after = facts if action is None else (None if action == 'remove' else wanted)
    result['diff'] = dict(before=dict(facts, state='present') if facts else dict(state='absent'),
                          after=dict(after, state='present') if after else dict(state='absent'),
                          before_header=header, after_header=header)
    if action in ('remove', 'recreate'):
        users = engine.users('network', name)
        result['containers'] = users
        refuse_in_use('network', name, users, action, reasons, force)
    result['network'] = after
    if action is None:
        return result
    result['changed'] = True
    result['actions'] = {'create': ['create'], 'recreate': ['remove', 'create'], 'remove': ['remove']}[action]
    if check_mode:
        return result
    if action in ('remove', 'recreate'):
        engine.remove_object('network', name, force=bool(result['containers']))
    if action != 'remove':
        engine.create_network(name, _argv(wanted))
        result['network'] = _facts(engine.inspect_object('network', name))
    return result
