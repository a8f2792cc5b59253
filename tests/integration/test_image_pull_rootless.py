"""image_pull as an unprivileged user: the image lands in that user's own storage, not in root's.

Root runs the play and becomes the user of test_container_state's ``rootless`` fixture (podkit-rootless, with
subuid/subgid) with su, pipelined; the module runs with the python of test_container_service's ``_user_python`` (root's
venv is not readable by the user, and the system python has no requests). The registry is the plain-http session
registry (insecure: true). Four steps: check -> pull -> check -> pull.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import uuid

from ansible_runner import task_results
from images import image_exists, import_rootfs, push
from test_container_service import _user_python
from test_container_state import ROOTLESS_USER, rootless  # noqa: F401  pylint: disable=unused-import
from tools import podman

STEPS = (('check', True), ('pull', False), ('check again', True), ('pull again', False))


def _user_image_id(as_user, ref):
    proc = as_user('podman', 'image', 'inspect', '--format', '{{.Id}}', ref)
    return proc.stdout.strip() if proc.returncode == 0 else None


def test_rootless_pull_four_steps(rootless, registry_http, run_playbook, tmp_path):  # noqa: F811  pylint: disable=redefined-outer-name
    source = 'localhost/podkit-pull-rl/src-%s:1' % uuid.uuid4().hex[:10]
    import_rootfs(source, tmp_path, marker='rootless-%s' % uuid.uuid4().hex)
    pushed = push(source, registry_http, 'pull/rootless-%s:1' % uuid.uuid4().hex[:8])
    podman('rmi', source)
    ref = pushed.ref
    as_user = rootless['as_user']
    try:
        assert not image_exists(ref) and _user_image_id(as_user, ref) is None
        args = {'name': ref, 'insecure': True}
        tasks = [{'name': 'who', 'ansible.builtin.command': 'id -un', 'changed_when': False}]
        for label, check in STEPS:
            tasks.append({'name': label, 'podkit.containers.image_pull': args, 'check_mode': check})
            if label == 'check':
                tasks.append({'name': 'exists after check', 'ansible.builtin.command': {'argv': ['podman', 'image', 'exists', ref]},
                              'check_mode': False, 'changed_when': False, 'failed_when': False})
        play = {'hosts': 'localhost', 'gather_facts': False, 'become': True, 'become_method': 'su',
                'become_user': ROOTLESS_USER, 'environment': rootless['env'], 'tasks': tasks}
        playbook = tmp_path / 'rootless-pull.yml'
        playbook.write_text(json.dumps([play]))
        parsed, proc = run_playbook(str(playbook), diff=True, env={'ANSIBLE_PIPELINING': '1'},
                                    extra_vars={'ansible_python_interpreter': _user_python()})
        results = task_results(parsed)
        for label, dummy in STEPS:
            assert label in results, (label, sorted(results), proc.stdout[-3000:], proc.stderr[-3000:])
            assert results[label].get('failed') is not True, results[label]
            assert 'Traceback' not in json.dumps(results[label]), results[label]
        assert results['who']['stdout'] == ROOTLESS_USER

        check, pull, check_again, pull_again = (results[label] for label, dummy in STEPS)
        assert check['changed'] is True and check['pulled'] is False and check['pull_needed'] is True, check
        assert check['remote_digest'] == pushed.digest and check['local_digest_before'] is None, check
        assert results['exists after check']['rc'] == 1, 'check mode pulled: %s' % results['exists after check']
        assert pull['changed'] is True and pull['pulled'] is True, pull
        assert pull['image']['digest'] == pushed.digest, pull
        assert check_again['changed'] is False and check_again['pull_needed'] is False, check_again
        assert check_again['local_digest_before'] == pushed.digest, check_again
        assert pull_again['changed'] is False and pull_again['pulled'] is False, pull_again

        # In the user's storage, with the ID the module reported; root's storage never saw it.
        proc = as_user('podman', 'image', 'exists', ref)
        assert proc.returncode == 0, proc.stderr
        assert _user_image_id(as_user, ref) == pull['image']['id']
        assert not image_exists(ref), 'the image was pulled into root storage'
    finally:
        as_user('podman', 'rmi', '--force', '--ignore', ref)
        podman('rmi', '--force', '--ignore', ref, check=False)
    assert _user_image_id(as_user, ref) is None
