# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container state machine (internal; no stable API).

``plan(current, desired_state, drift, ...)`` is a pure function from the container's current state and the
desired one to the list of transitions that gets it there; the ContainerManager executes them (or, in check
mode, only reports them). Transition names are the operator's podman verbs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError

STATES = ('absent', 'created', 'running', 'paused', 'exited')
DESIRED_STATES = ('present', 'started', 'stopped', 'paused', 'restarted', 'absent')
TRANSITIONS = ('pull', 'create', 'recreate', 'start', 'stop', 'kill', 'pause', 'unpause', 'restart', 'remove')

# podman's State.Status values (libpod define.ContainerStatus) folded onto the five states this module reasons in.
_PODMAN_STATUS = {
    'configured': 'created',
    'created': 'created',
    'initialized': 'created',
    'running': 'running',
    'paused': 'paused',
    'stopping': 'running',
    'stopped': 'exited',
    'exited': 'exited',
    'dead': 'exited',
    'removing': 'exited',
    'unknown': 'exited',
}

# The state each transition leaves a container in.
_AFTER = {
    'create': 'created',
    'recreate': 'created',
    'start': 'running',
    'restart': 'running',
    'unpause': 'running',
    'pause': 'paused',
    'stop': 'exited',
    'kill': 'exited',
    'remove': 'absent',
}


def normalize_status(container):
    """The state of a ``podman inspect`` object (None means absent)."""
    if not container:
        return 'absent'
    status = str((container.get('State') or {}).get('Status') or 'unknown').lower()
    return _PODMAN_STATUS.get(status, 'exited')


def final_state(current, transitions):
    """The state a container ends in after ``transitions`` ('pull' leaves it as it is)."""
    state = current
    for transition in transitions:
        state = _AFTER.get(transition, state)
    return state


def _halt(current, force_kill):
    """From running or paused to exited."""
    if current == 'running':
        return ['kill'] if force_kill else ['stop']
    if current == 'paused':
        # podman 4.3 refuses to stop a paused container ("container state improper") but kills it fine.
        return ['kill'] if force_kill else ['unpause', 'stop']
    return []


def plan(current, desired_state, drift=False, image_changed=False, recreate=False, force_kill=False, force=False):
    """Transitions from ``current`` (one of STATES) to ``desired_state`` (one of DESIRED_STATES).

    ``drift``/``image_changed``/``recreate`` replace an existing container ('recreate': remove, then create
    with the desired configuration) before it is brought to the desired state. ``force_kill`` kills instead of
    stopping; ``force`` (state absent) removes a running or paused container without stopping it first.
    """
    if current not in STATES:
        raise ConfigError('unknown container state %r (expected one of %s)' % (current, ', '.join(STATES)))
    if desired_state not in DESIRED_STATES:
        raise ConfigError('unknown state %r (expected one of %s)' % (desired_state, ', '.join(DESIRED_STATES)))

    if desired_state == 'absent':
        if current == 'absent':
            return []
        if force:
            return ['remove']
        return _halt(current, force_kill) + ['remove']

    steps = []
    fresh = False
    was = current
    if current == 'absent':
        steps.append('create')
        current, fresh = 'created', True
    elif drift or image_changed or recreate:
        steps.append('recreate')
        current, fresh = 'created', True

    if desired_state == 'present':
        # present only asks for existence; a replaced container gets back the run state it had.
        if fresh and was in ('running', 'paused'):
            steps.append('start')
            if was == 'paused':
                steps.append('pause')
        return steps

    if desired_state == 'started':
        if current in ('created', 'exited'):
            steps.append('start')
        elif current == 'paused':
            steps.append('unpause')
        return steps

    if desired_state == 'stopped':
        return steps + _halt(current, force_kill)

    if desired_state == 'paused':
        if current in ('created', 'exited'):
            steps += ['start', 'pause']
        elif current == 'running':
            steps.append('pause')
        return steps

    # restarted: a container that was just created only needs starting.
    if fresh or current == 'created':
        steps.append('start')
    elif current == 'paused':
        # podman 4.3 refuses to restart a paused container.
        steps += ['unpause', 'restart']
    else:
        steps.append('restart')
    return steps
