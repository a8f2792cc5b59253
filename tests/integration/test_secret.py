"""secret on the real podman: the four steps, a rotation that names the container using the secret, absent twice,
bad input -- all in one playbook at -vvv while every new process's argv and environment is sampled
(tools.ProcessSampler). The value appears in no output, no result, no argv and no ``podman secret inspect``.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import uuid

from tools import ProcessSampler, podman, secret_scan


def _playbook(tmp_path, tasks, secrets_file):
    lines = []
    for number, (args, check, expect_failure) in enumerate(tasks):
        task = {'name': 'task %d' % number, 'podkit.containers.secret': args, 'register': 'r%d' % number,
                'check_mode': check, 'diff': True}
        if expect_failure:
            task['ignore_errors'] = True
        lines.append(task)
        if number == 4:  # after the first apply: a container that uses the secret
            argv = ['podman', 'create', '--name', '{{ user }}', '--secret', '{{ secret_name }}', '{{ image }}', 'true']
            lines.append({'name': 'a user', 'ansible.builtin.command': {'argv': argv}})
    results = '{{ [%s] | to_json }}' % ', '.join('r%d' % n for n in range(len(tasks)))
    lines.append({'name': 'results', 'ansible.builtin.copy': {'content': results, 'dest': str(tmp_path / 'results.json'),
                                                              'mode': '0600'}})
    play = [{'hosts': 'localhost', 'gather_facts': False, 'vars_files': [str(secrets_file)], 'tasks': lines}]
    path = tmp_path / 'secret.yml'
    path.write_text(json.dumps(play))
    return path


def test_secret_four_steps_rotation_absent_without_leaks(run_playbook, images, tmp_path):
    name = 'podkit-secret-%s' % uuid.uuid4().hex[:8]
    user = name + '-user'
    value = 'podkit-value-%s' % uuid.uuid4().hex
    rotated = 'podkit-rotated-%s' % uuid.uuid4().hex
    secrets_file = tmp_path / 'vars.json'
    fd = os.open(str(secrets_file), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w') as handle:
        json.dump({'value': value, 'rotated': rotated, 'secret_name': name, 'user': user, 'image': images.base}, handle)
    value_file = tmp_path / 'value-file'
    value_file.write_text(rotated)
    present = dict(name=name, data='{{ value }}', labels={'app': 'podkit-test'})
    tasks = [
        (present, True, False),    # 0 check: would create
        (present, False, False),   # 1 create
        (present, True, False),    # 2 check: nothing to do
        (present, False, False),   # 3 apply: nothing to do
        (dict(name=name, data='{{ value }}', path=str(value_file)), False, True),  # 4 both: refused
        (dict(name=name, path=str(value_file), labels={'app': 'podkit-test'}), True, False),   # 5 check rotation
        (dict(name=name, path=str(value_file), labels={'app': 'podkit-test'}), False, False),  # 6 rotation
        (dict(name=name, data='{{ rotated }}', labels={'app': 'podkit-test'}), False, False),  # 7 same bytes as data
        (dict(name=name, path=str(tmp_path / 'missing')), False, True),  # 8 missing path: refused
        (dict(name=name, state='absent'), False, True),  # 9 in use: refused
        (dict(name=name, state='absent', force=True), True, False),   # 10 check absent
        (dict(name=name, state='absent', force=True), False, False),  # 11 absent
        (dict(name=name, state='absent'), False, False),  # 12 absent again
    ]
    playbook = _playbook(tmp_path, tasks, secrets_file)
    inspected = []
    try:
        with ProcessSampler([value, rotated], interval=0.02) as sampler:
            dummy, proc = run_playbook(str(playbook), env={}, verbosity=3)
            inspected.append(podman('secret', 'inspect', name, check=False).stdout)
    finally:
        podman('rm', '--force', user, check=False)
        podman('secret', 'rm', name, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    results = json.loads((tmp_path / 'results.json').read_text())
    changed = [bool(r.get('changed')) for r in results]
    failed = [bool(r.get('failed')) for r in results]
    assert failed == [t[2] for t in tasks], [r.get('msg') for r in results]
    assert changed == [True, True, False, False, False, True, True, False, False, False, True, True, False], changed

    first, created, checked, again = results[:4]
    assert first['diff']['before'] == {'state': 'absent'} and first['diff']['after']['value'] == 'set'
    assert created['secret']['labels'] == {'app': 'podkit-test'} and created['secret']['id']
    assert checked['diff']['before'] == checked['diff']['after'] and again['secret']['id'] == created['secret']['id']
    assert 'mutually exclusive' in results[4]['msg']
    assert results[5]['containers'] == [user] and results[5]['reasons'] == ['value changed']
    assert results[5]['diff']['after']['value'] == 'replaced'
    assert results[6]['containers'] == [user] and results[6]['secret']['id'] != created['secret']['id']
    assert results[7]['secret']['id'] == results[6]['secret']['id']
    assert 'missing' in results[8]['msg'] and 'cannot read' in results[8]['msg']
    assert user in results[9]['msg'] and 'force' in results[9]['msg']
    assert results[11]['actions'] == ['remove'] and results[12]['actions'] == []
    # Gone after the playbook (inspect of a missing secret prints nothing on stdout).
    assert inspected == [''] or json.loads(inspected[0] or '[]') == []

    commands = ' '.join(sampler.processes.values())
    assert 'ansible-playbook' in commands and 'secret create' in commands and sampler.samples >= 20, sampler.samples
    assert sampler.leaks == [], sampler.leaks
    secret_scan([proc, tmp_path / 'results.json'], [value, rotated])
    assert 'Traceback' not in proc.stdout + proc.stderr


def test_secret_value_reaches_the_container_and_not_inspect(run_module, images, tmp_path):
    """The bytes podman stores are the bytes given (no newline added), and ``podman secret inspect`` shows only the
    hash labels."""
    name = 'podkit-secret-%s' % uuid.uuid4().hex[:8]
    value = 'podkit-direct-%s' % uuid.uuid4().hex
    path = tmp_path / 'value'
    path.write_text(value)
    try:
        result = run_module('podkit.containers.secret', dict(name=name, path=str(path)))
        assert result['changed'], result
        inspect = podman('secret', 'inspect', name).stdout
        secret_scan(inspect, value)
        labels = json.loads(inspect)[0]['Spec']['Labels']
        assert sorted(labels) == ['io.podkit.secret.hmac', 'io.podkit.secret.salt']
        out = podman('run', '--rm', '--secret', name, images.base, 'cat', '/run/secrets/' + name).stdout
        assert out == value
    finally:
        podman('secret', 'rm', name, check=False)
