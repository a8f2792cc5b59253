# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""secret's use case against a fake podman CLI that keeps secrets in a dict (the decisions, check mode, the value's
absence from argv and results)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import sys

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.objects import HMAC_LABEL, SALT_LABEL
from ansible_collections.podkit.containers.plugins.module_utils.usecases import secret

VALUE = 'unit-secret-value-0f3a'


class FakePodman(object):
    """``podman secret create/rm/inspect``, ``ps`` and ``container inspect`` over dicts; records every argv."""

    def __init__(self):
        self.secrets = {}
        self.containers = {}  # name -> [secret names]
        self.calls = []
        self.stdin = []
        self.serial = 0

    def __call__(self, argv, data=None, env=None):
        self.calls.append(list(argv))
        args = argv[1:]
        if args[:2] == ['secret', 'inspect']:
            name = args[2]
            if name not in self.secrets:
                return 125, b'', b'Error: inspecting secret: no secret with name or id "%s": no such secret\n' % name.encode()
            return 0, json.dumps([self.secrets[name]]).encode(), b''
        if args[:2] == ['secret', 'create']:
            assert args[-1] == '-' and isinstance(data, bytes)
            name = args[-2]
            labels, opts, driver, i = {}, {'path': '/fake'}, None, 2
            while i < len(args) - 2:
                key, val = args[i + 1].split('=', 1) if args[i] != '--driver' else (None, args[i + 1])
                if args[i] == '--label':
                    labels[key] = val
                elif args[i] == '--driver-opts':
                    opts[key] = val
                else:
                    driver = val
                i += 2
            self.serial += 1
            self.secrets[name] = dict(ID='id%d' % self.serial, Spec=dict(Name=name, Driver=dict(Name=driver, Options=opts),
                                                                         Labels=labels))
            self.stdin.append(data)
            return 0, b'id\n', b''
        if args[:2] == ['secret', 'rm']:
            self.secrets.pop(args[-1])
            return 0, b'', b''
        if args[0] == 'ps':
            return 0, '\n'.join(self.containers).encode(), b''
        if args[:2] == ['container', 'inspect']:
            return 0, json.dumps([dict(Name=n, Config=dict(Secrets=[dict(Name=s) for s in self.containers[n]]))
                                  for n in args[2:]]).encode(), b''
        raise AssertionError('unexpected podman call %r' % (argv,))

    def mutations(self):
        return [c[1:3] for c in self.calls if c[1:3] in (['secret', 'create'], ['secret', 'rm'])]


def params(**kw):
    base = dict(name='db-password', state='present', data=VALUE, path=None, driver='file', driver_opts={}, labels={},
                force=False, executable=sys.executable)
    base.update(kw)
    return base


def apply(fake, check_mode=False, **kw):
    result = secret.run(params(**kw), fake, check_mode=check_mode)
    leaked = [c for c in fake.calls if any(VALUE in part for part in c)]
    assert not leaked, 'the value is in an argv'
    assert VALUE not in json.dumps(result)
    return result


def test_four_steps_then_rotation_and_absent():
    fake = FakePodman()
    first = apply(fake, check_mode=True)
    assert first['changed'] and first['actions'] == ['create'] and fake.mutations() == []
    assert first['diff']['before'] == dict(state='absent') and first['diff']['after']['value'] == 'set'
    created = apply(fake)
    assert created['changed'] and fake.stdin == [VALUE.encode()]
    labels = fake.secrets['db-password']['Spec']['Labels']
    assert set(labels) == {SALT_LABEL, HMAC_LABEL} and VALUE not in json.dumps(labels)
    assert created['secret']['labels'] == {}  # the hash labels are not returned
    for check_mode in (True, False):
        again = apply(fake, check_mode=check_mode)
        assert not again['changed'] and again['actions'] == [] and again['diff']['before'] == again['diff']['after']
    assert len(fake.mutations()) == 1

    fake.containers = {'db': ['db-password'], 'other': ['unrelated']}
    new = VALUE + 'X'
    rotated = secret.run(params(data=new), fake, check_mode=True)
    assert rotated['changed'] and rotated['reasons'] == ['value changed'] and rotated['containers'] == ['db']
    assert rotated['diff']['before']['value'] == 'set' and rotated['diff']['after']['value'] == 'replaced'
    assert 'db' in rotated['warnings'][0] and len(fake.mutations()) == 1
    rotated = secret.run(params(data=new), fake)
    assert fake.mutations()[1:] == [['secret', 'rm'], ['secret', 'create']] and fake.stdin[-1] == new.encode()
    assert not secret.run(params(data=new), fake)['changed']

    with pytest.raises(ConfigError) as err:
        secret.run(params(state='absent'), fake)
    assert 'db' in err.value.msg and 'force' in err.value.msg and 'db-password' in fake.secrets
    fake.containers = {}
    gone = secret.run(params(state='absent', data=None), fake)
    assert gone['changed'] and 'db-password' not in fake.secrets
    assert not secret.run(params(state='absent', data=None), fake)['changed']


@pytest.mark.parametrize('change, reason', [
    (dict(labels={'app': 'web'}), 'labels'),
    (dict(driver_opts={'k': 'v'}), 'driver_opts'),
    (dict(force=True), 'force'),
])
def test_settings_drift_replaces(change, reason):
    fake = FakePodman()
    apply(fake)
    result = apply(fake, **change)
    assert result['changed'] and result['reasons'] == [reason]
    assert result['diff']['after']['value'] == 'set (unchanged)'
    assert not apply(fake, **dict(change, force=False))['changed']


def test_secret_without_our_hash_is_replaced_once():
    fake = FakePodman()
    fake.secrets['db-password'] = dict(ID='x', Spec=dict(Name='db-password', Driver=dict(Name='file', Options={}), Labels={}))
    result = apply(fake)
    assert result['changed'] and result['reasons'][0].startswith('value not recorded')
    assert not apply(fake)['changed']


def test_path_is_read_on_the_target(tmp_path):
    path = tmp_path / 'value'
    path.write_bytes(VALUE.encode())
    fake = FakePodman()
    assert apply(fake, data=None, path=str(path))['changed'] and fake.stdin == [VALUE.encode()]
    assert not apply(fake)['changed']  # the same bytes given as data


@pytest.mark.parametrize('kw, words', [
    (dict(data=None, path='/nonexistent/podkit'), ['path /nonexistent/podkit', 'No such file']),
    (dict(path='/etc/hostname'), ['mutually exclusive']),
    (dict(data=None), ['set data or path']),
    (dict(data=''), ['1 to 512000 bytes']),
    (dict(labels={SALT_LABEL: 'x'}), ['reserved', SALT_LABEL]),
])
def test_bad_input_one_msg_nothing_done(kw, words):
    fake = FakePodman()
    with pytest.raises(ConfigError) as err:
        secret.run(params(**kw), fake)
    for word in words:
        assert word.lower() in err.value.msg.lower(), err.value.msg
    assert fake.mutations() == []
