"""network on the real podman (netavark): the four steps, drift refused while a container uses it, recreated once
unused, absent refused while in use, then absent twice."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import random
import uuid

from tools import podman


def _inspect(name):
    proc = podman('network', 'inspect', name, check=False)
    return json.loads(proc.stdout)[0] if proc.returncode == 0 else None


def test_network_four_steps_drift_in_use_and_absent(run_module, images):
    name = 'podkit-net-%s' % uuid.uuid4().hex[:8]
    user = name + '-user'
    third = random.randint(100, 250)
    args = dict(name=name, subnet='10.%d.%d.0/24' % (random.randint(150, 199), third), labels={'app': 'podkit-test'},
                options={'mtu': '1400'})
    mod = 'podkit.containers.network'
    try:
        steps = [run_module(mod, args, check=check, diff=True) for check in (True, False, True, False)]
        assert [r['changed'] for r in steps] == [True, True, False, False], steps
        assert steps[0]['diff']['before'] == {'state': 'absent'} and steps[2]['diff']['before'] == steps[2]['diff']['after']
        assert _inspect(name)['subnets'][0]['subnet'] == args['subnet'] and _inspect(name)['options']['mtu'] == '1400'
        podman('create', '--name', user, '--network', name, images.base, 'true')

        drift = dict(args, internal=True)
        refused = run_module(mod, drift)
        assert refused.get('failed') and user in refused['msg'] and 'internal' in refused['msg'], refused
        gone = run_module(mod, dict(name=name, state='absent'))
        assert gone.get('failed') and user in gone['msg'], gone
        assert _inspect(name)['internal'] is False  # nothing changed

        podman('rm', user)
        changed = run_module(mod, drift, diff=True)
        assert changed['changed'] and changed['reasons'] == ['internal'] and changed['diff']['after']['internal'] is True
        assert _inspect(name)['internal'] is True and not run_module(mod, drift)['changed']

        absent = [run_module(mod, dict(name=name, state='absent'), check=check) for check in (True, False, False)]
        assert [r['changed'] for r in absent] == [True, True, False], absent
        assert _inspect(name) is None
    finally:
        podman('rm', '--force', user, check=False)
        podman('network', 'rm', '--force', name, check=False)
