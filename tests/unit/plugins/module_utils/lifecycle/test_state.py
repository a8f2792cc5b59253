# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.state import (
    final_state,
    normalize_status,
    plan,
)

# (current, desired, flags, expected transitions, final state)
# flags: d = drift, i = image_changed, r = recreate, k = force_kill, f = force
TABLE = [
    # present: exists; a running or paused container is left as it is
    ('absent', 'present', '', ['create'], 'created'),
    ('created', 'present', '', [], 'created'),
    ('running', 'present', '', [], 'running'),
    ('paused', 'present', '', [], 'paused'),
    ('exited', 'present', '', [], 'exited'),
    ('absent', 'present', 'd', ['create'], 'created'),
    ('created', 'present', 'd', ['recreate'], 'created'),
    ('exited', 'present', 'i', ['recreate'], 'created'),
    ('running', 'present', 'd', ['recreate', 'start'], 'running'),
    ('paused', 'present', 'r', ['recreate', 'start', 'pause'], 'paused'),
    # started
    ('absent', 'started', '', ['create', 'start'], 'running'),
    ('created', 'started', '', ['start'], 'running'),
    ('running', 'started', '', [], 'running'),
    ('paused', 'started', '', ['unpause'], 'running'),
    ('exited', 'started', '', ['start'], 'running'),
    ('running', 'started', 'd', ['recreate', 'start'], 'running'),
    ('running', 'started', 'i', ['recreate', 'start'], 'running'),
    ('running', 'started', 'r', ['recreate', 'start'], 'running'),
    ('paused', 'started', 'd', ['recreate', 'start'], 'running'),
    ('exited', 'started', 'di', ['recreate', 'start'], 'running'),
    ('running', 'started', 'k', [], 'running'),
    # stopped
    ('absent', 'stopped', '', ['create'], 'created'),
    ('created', 'stopped', '', [], 'created'),
    ('running', 'stopped', '', ['stop'], 'exited'),
    ('running', 'stopped', 'k', ['kill'], 'exited'),
    ('paused', 'stopped', '', ['unpause', 'stop'], 'exited'),
    ('paused', 'stopped', 'k', ['kill'], 'exited'),
    ('exited', 'stopped', '', [], 'exited'),
    ('exited', 'stopped', 'k', [], 'exited'),
    ('running', 'stopped', 'd', ['recreate'], 'created'),
    ('exited', 'stopped', 'r', ['recreate'], 'created'),
    # paused
    ('absent', 'paused', '', ['create', 'start', 'pause'], 'paused'),
    ('created', 'paused', '', ['start', 'pause'], 'paused'),
    ('running', 'paused', '', ['pause'], 'paused'),
    ('paused', 'paused', '', [], 'paused'),
    ('exited', 'paused', '', ['start', 'pause'], 'paused'),
    ('paused', 'paused', 'i', ['recreate', 'start', 'pause'], 'paused'),
    # restarted: always restarts
    ('absent', 'restarted', '', ['create', 'start'], 'running'),
    ('created', 'restarted', '', ['start'], 'running'),
    ('running', 'restarted', '', ['restart'], 'running'),
    ('paused', 'restarted', '', ['unpause', 'restart'], 'running'),
    ('exited', 'restarted', '', ['restart'], 'running'),
    ('running', 'restarted', 'd', ['recreate', 'start'], 'running'),
    ('exited', 'restarted', 'r', ['recreate', 'start'], 'running'),
    # absent: drift and image changes do not matter
    ('absent', 'absent', '', [], 'absent'),
    ('absent', 'absent', 'dirkf', [], 'absent'),
    ('created', 'absent', '', ['remove'], 'absent'),
    ('exited', 'absent', 'd', ['remove'], 'absent'),
    ('running', 'absent', '', ['stop', 'remove'], 'absent'),
    ('running', 'absent', 'k', ['kill', 'remove'], 'absent'),
    ('running', 'absent', 'f', ['remove'], 'absent'),
    ('paused', 'absent', '', ['unpause', 'stop', 'remove'], 'absent'),
    ('paused', 'absent', 'k', ['kill', 'remove'], 'absent'),
    ('paused', 'absent', 'f', ['remove'], 'absent'),
]


@pytest.mark.parametrize('current, desired, flags, expected, end', TABLE,
                         ids=['%s->%s%s' % (c, d, '[%s]' % f if f else '') for c, d, f, _e, _s in TABLE])
def test_plan(current, desired, flags, expected, end):
    transitions = plan(current, desired, drift='d' in flags, image_changed='i' in flags, recreate='r' in flags,
                       force_kill='k' in flags, force='f' in flags)
    assert transitions == expected
    assert final_state(current, transitions) == end


def test_every_pair_is_covered():
    pairs = set((c, d) for c, d, _f, _e, _s in TABLE)
    for current in ('absent', 'created', 'running', 'paused', 'exited'):
        for desired in ('present', 'started', 'stopped', 'paused', 'restarted', 'absent'):
            assert (current, desired) in pairs


@pytest.mark.parametrize('current, desired', [('bogus', 'started'), ('running', 'bogus')])
def test_unknown_states(current, desired):
    with pytest.raises(ConfigError):
        plan(current, desired)


@pytest.mark.parametrize('status, expected', [
    ('configured', 'created'), ('created', 'created'), ('initialized', 'created'), ('running', 'running'),
    ('paused', 'paused'), ('stopped', 'exited'), ('exited', 'exited'), ('dead', 'exited'), ('Exited', 'exited'),
    ('something-new', 'exited'),
])
def test_normalize_status(status, expected):
    assert normalize_status({'State': {'Status': status}}) == expected


def test_normalize_status_absent():
    assert normalize_status(None) == 'absent'
