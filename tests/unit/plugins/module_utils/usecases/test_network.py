# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""network's drift decision (plan_network) on the podman 4.3.1 (netavark) ``network inspect`` shape."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.usecases.network import plan_network

CURRENT = {'name': 'n', 'driver': 'bridge', 'subnets': [{'subnet': '10.99.7.0/24', 'gateway': '10.99.7.1'}],
           'internal': True, 'dns_enabled': True, 'labels': {'x': 'y'}, 'options': {'mtu': '1400'}}


def wanted(**kw):
    base = dict(driver='bridge', subnet=None, gateway=None, internal=True, dns=None, labels={'x': 'y'}, options={})
    base.update(kw)
    return base


@pytest.mark.parametrize('current, want, expected', [
    (None, wanted(), ('create', ['missing'])),
    (CURRENT, wanted(), (None, [])),  # unset subnet, gateway, dns: podman's choice
    (CURRENT, wanted(subnet='10.99.7.0/24', gateway='10.99.7.1', dns=True, options={'mtu': '1400'}), (None, [])),
    (CURRENT, wanted(subnet='10.99.8.0/24'), ('recreate', ['subnet'])),
    (CURRENT, wanted(internal=False, dns=False), ('recreate', ['internal', 'dns'])),
    (CURRENT, wanted(options={'mtu': '1500'}, labels={}), ('recreate', ['options', 'labels'])),
])
def test_plan_network(current, want, expected):
    assert plan_network(current, want) == expected
