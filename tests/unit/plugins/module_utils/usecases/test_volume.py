# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""volume's drift decision (plan_volume) on podman 4.3.1 ``volume inspect`` shapes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.usecases.volume import plan_volume

CURRENT = {'Name': 'v', 'Driver': 'local', 'Options': {'type': 'tmpfs', 'device': 'tmpfs'}, 'Labels': {'x': 'y'},
           'Mountpoint': '/var/lib/containers/storage/volumes/v/_data'}


@pytest.mark.parametrize('current, driver, options, labels, expected', [
    (None, 'local', {}, {}, ('create', ['missing'])),
    (CURRENT, 'local', {'type': 'tmpfs', 'device': 'tmpfs'}, {'x': 'y'}, (None, [])),
    (CURRENT, 'local', {'type': 'tmpfs'}, {'x': 'y'}, ('recreate', ['options'])),
    (CURRENT, 'local', {'type': 'tmpfs', 'device': 'tmpfs'}, {}, ('recreate', ['labels'])),
    (CURRENT, 'other', {'type': 'tmpfs', 'device': 'tmpfs'}, {'x': 'z'}, ('recreate', ['driver', 'labels'])),
])
def test_plan_volume(current, driver, options, labels, expected):
    assert plan_volume(current, driver, options, labels) == expected
