"""volume on the real podman: the four steps, drift (labels) refused while a container uses it and nothing changed,
refused while unused too (recreating empties it), recreated with force, absent refused while in use, then absent
twice."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import uuid

from tools import podman


def _inspect(name):
    proc = podman('volume', 'inspect', name, check=False)
    return json.loads(proc.stdout)[0] if proc.returncode == 0 else None


def test_volume_four_steps_drift_in_use_and_absent(run_module, images):
    name = 'podkit-volume-%s' % uuid.uuid4().hex[:8]
    user = name + '-user'
    args = dict(name=name, labels={'app': 'podkit-test'})
    mod = 'podkit.containers.volume'
    try:
        steps = [run_module(mod, args, check=check, diff=True) for check in (True, False, True, False)]
        assert [r['changed'] for r in steps] == [True, True, False, False], steps
        assert steps[0]['diff']['before'] == {'state': 'absent'} and steps[0]['actions'] == ['create']
        assert steps[2]['diff']['before'] == steps[2]['diff']['after']
        assert _inspect(name)['Labels'] == {'app': 'podkit-test'}
        podman('run', '--name', user, '-v', '%s:/data' % name, images.base, 'sh', '-c', 'echo kept > /data/f')

        drift = dict(args, labels={'app': 'podkit-test', 'tier': 'db'})
        for check in (True, False):
            refused = run_module(mod, drift, check=check)
            assert refused.get('failed') and user in refused['msg'] and 'force' in refused['msg'], refused
        gone = run_module(mod, dict(name=name, state='absent'))
        assert gone.get('failed') and user in gone['msg'], gone
        assert _inspect(name)['Labels'] == {'app': 'podkit-test'}  # nothing changed
        assert podman('run', '--rm', '-v', '%s:/data' % name, images.base, 'cat', '/data/f').stdout == 'kept\n'

        podman('rm', user)
        for check in (True, False):
            refused = run_module(mod, drift, check=check)
            assert refused.get('failed') and 'labels' in refused['msg'] and 'force=true' in refused['msg'], refused
        assert podman('run', '--rm', '-v', '%s:/data' % name, images.base, 'cat', '/data/f').stdout == 'kept\n'
        changed = run_module(mod, dict(drift, force=True), diff=True)
        assert changed['changed'] and changed['reasons'] == ['labels'] and changed['actions'] == ['remove', 'create']
        assert changed['diff']['after']['labels'] == {'app': 'podkit-test', 'tier': 'db'}
        assert not run_module(mod, drift)['changed']

        absent = [run_module(mod, dict(name=name, state='absent'), check=check) for check in (True, False, False)]
        assert [r['changed'] for r in absent] == [True, True, False], absent
        assert _inspect(name) is None
    finally:
        podman('rm', '--force', user, check=False)
        podman('volume', 'rm', '--force', name, check=False)
