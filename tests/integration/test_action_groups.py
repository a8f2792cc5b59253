# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_defaults for each action group reach every member: one play per group sets the registry options once
(TLS with a private CA and Basic auth, as registry_tls_basic serves them) and runs every member of the group without
any option of its own for the registry. A member that does not accept an option fails with "Unsupported parameters".
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import uuid

import yaml

from ansible_runner import task_results
from images import push
from tools import secret_scan

GROUP_MEMBERS = {'registry': ('registry_login', 'image_info', 'image_pull', 'image_copy'),
                 'podman': ('image_pull', 'container_state', 'systemd_generate', 'secret', 'volume', 'network')}


def _runtime_groups():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
    with open(os.path.join(root, 'meta', 'runtime.yml')) as f:
        return dict((name, tuple(members)) for name, members in yaml.safe_load(f)['action_groups'].items())


def test_module_defaults_reach_every_member(registry_tls_basic, images, run_playbook, tmp_path):
    reg = registry_tls_basic
    unique = uuid.uuid4().hex[:10]
    pushed = push(images.base, reg, 'groups/base-%s:1' % unique)
    copied = '%s/groups/copy-%s:1' % (reg.host, unique)
    auth_file = str(tmp_path / 'auth.json')
    shared = dict(username=reg.username, password=reg.password, ca_cert=reg.ca_cert, validate_certs=True,
                  insecure=False, timeout=20, auth_file=auth_file)
    members = dict(
        registry_login=dict(registry=reg.host),
        image_info=dict(name=pushed.ref),
        image_pull=dict(name=pushed.ref),
        image_copy=dict(src='docker://' + pushed.ref, dest='docker://' + copied),
        container_state=dict(name='podkit-groups-%s' % unique, image=pushed.ref, state='present'),
        systemd_generate=dict(name='podkit-groups-%s' % unique, image=pushed.ref, format='unit',
                              dest=str(tmp_path / 'units'), daemon_reload=False),
        secret=dict(name='podkit-groups-%s' % unique, data='not-a-registry-secret'),
        volume=dict(name='podkit-groups-%s' % unique),
        network=dict(name='podkit-groups-%s' % unique),
    )
    # Members that would touch podman storage or a container run in check mode: the options still have to be
    # accepted, and image_pull's check mode asks the registry with them.
    check_mode = ('image_pull', 'container_state', 'secret', 'volume', 'network')
    groups = _runtime_groups()
    assert set(groups) == set(GROUP_MEMBERS)
    plays = []
    for group, modules in sorted(groups.items()):
        assert set(modules) == set(GROUP_MEMBERS[group]), 'meta/runtime.yml changed: add the new members here'
        # ignore_errors: every member runs, so one run names every member that refuses an option.
        tasks = [dict([('name', '%s %s' % (group, module)), ('podkit.containers.' + module, members[module]),
                       ('ignore_errors', True)] + ([('check_mode', True)] if module in check_mode else []))
                 for module in modules]
        plays.append(dict(name=group, hosts='localhost', gather_facts=False,
                          module_defaults={'group/podkit.containers.' + group: shared}, tasks=tasks))
    (tmp_path / 'units').mkdir()
    playbook = tmp_path / 'groups.yml'
    playbook.write_text(json.dumps(plays))

    parsed, proc = run_playbook(str(playbook))
    results = task_results(parsed)
    refused = ['%s %s: %s' % (group, module, results['%s %s' % (group, module)].get('msg'))
               for group, modules in sorted(groups.items()) for module in modules
               if results['%s %s' % (group, module)].get('failed')]
    assert not refused, refused
    assert proc.returncode == 0, proc.stderr[-2000:]
    secret_scan(parsed, [reg.password])

    assert results['registry registry_login']['username'] == reg.username
    assert results['registry image_info']['digest'] == pushed.digest
    # The copy used the shared credentials and CA on both sides: the destination holds the source's digest.
    assert results['registry image_copy']['changed'] is True
    assert results['registry image_copy']['dest_digest'] == pushed.digest
    for group in ('registry', 'podman'):
        assert results['%s image_pull' % group]['remote_digest'] == pushed.digest
    for module in ('container_state', 'secret', 'volume', 'network'):
        assert results['podman %s' % module]['changed'] is True, module
    unit = results['podman systemd_generate']
    assert unit['changed'] is True and os.path.exists(unit['path'])
    # Credentials never go into a unit; the auth file does.
    assert reg.password not in unit['content'] and auth_file in unit['content']
