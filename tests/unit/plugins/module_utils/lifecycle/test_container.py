# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PodmanEngine with a fake run_command; ContainerManager with a fake engine (pull policies, check mode)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.errors import (
    ConfigError,
    PodmanError,
    PodmanNotFoundError,
)
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.container import ContainerManager
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.podman import (
    PodmanEngine,
    registry_of,
)

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures')
IMAGE = 'localhost/podkit-lifecycle/busybox:1'


def load(name):
    with open(os.path.join(FIXTURES, name + '.json')) as handle:
        return json.load(handle)[0]


# -- PodmanEngine ------------------------------------------------------------------------------------

class FakeRun(object):
    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = []

    def __call__(self, argv, data=None, env=None):
        self.calls.append(argv)
        return self.answers.pop(0)


def engine(answers):
    return PodmanEngine(FakeRun(answers), executable='podman', which=lambda name: '/usr/bin/' + name)


def test_not_installed():
    with pytest.raises(PodmanNotFoundError) as err:
        PodmanEngine(FakeRun([]), which=lambda name: None)
    assert err.value.msg == 'podman is not installed on the target (or not in PATH): install podman or set executable'
    with pytest.raises(PodmanNotFoundError, match='/nonexistent/podman is not an executable file'):
        PodmanEngine(FakeRun([]), executable='/nonexistent/podman')


def test_inspect_missing_is_none_and_other_errors_raise():
    eng = engine([(125, '[]', 'Error: inspecting object: no such container web\n'),
                  (125, '[]', 'Error: inspecting object: nope:1: image not known\n'),
                  (125, '', 'Error: database is locked\n')])
    assert eng.inspect_container('web') is None
    assert eng.inspect_image('nope:1') is None
    with pytest.raises(PodmanError) as err:
        eng.inspect_container('web')
    assert err.value.msg == 'podman container inspect failed for web: database is locked'
    assert err.value.cmd == ['/usr/bin/podman', 'container', 'inspect', '--format', 'json', 'web']


def test_failure_message_uses_the_error_line():
    eng = engine([(125, '', 'time="x" level=warning msg="retrying"\nError: name "web" is in use\n')])
    with pytest.raises(PodmanError) as err:
        eng.create(['--name', 'web', IMAGE], name='web')
    assert err.value.msg == 'podman create failed for container web: name "web" is in use'
    assert err.value.rc == 125


def test_argv():
    eng = engine([(0, '', '')] * 8 + [(0, 'sha256:abc\n', '')])
    eng.stop('web', timeout=3)
    eng.kill('web', 'KILL')
    eng.remove('web', force=True, timeout=0)
    eng.remove('web')
    eng.restart('web')
    eng.pause('web')
    eng.unpause('web')
    eng.start('web')
    assert eng.pull('r.example/a:1', auth_file='/tmp/auth.json', tls_verify=False, platform='linux/arm64') == 'sha256:abc'
    assert [c[1:] for c in eng._run_command.calls] == [
        ['stop', '--time', '3', 'web'], ['kill', '--signal', 'KILL', 'web'], ['rm', '--force', '--time', '0', 'web'],
        ['rm', 'web'], ['restart', 'web'], ['pause', 'web'], ['unpause', 'web'], ['start', 'web'],
        ['pull', '--quiet', '--authfile', '/tmp/auth.json', '--tls-verify=false', '--platform', 'linux/arm64', 'r.example/a:1'],
    ]


@pytest.mark.parametrize('image, registry', [
    ('registry.example.com/app:1', 'registry.example.com'), ('localhost:5000/a', 'localhost:5000'),
    ('localhost/a:1', 'localhost'), ('library/busybox', None), ('busybox', None),
])
def test_registry_of(image, registry):
    assert registry_of(image) == registry


# -- ContainerManager --------------------------------------------------------------------------------

class FakeEngine(object):
    """Containers and images in dicts; records every mutating call."""

    def __init__(self, container=None, image=None, pulled=None):
        self.container = copy.deepcopy(container)
        self.images = {}
        if image:
            self.images[IMAGE] = image
            self.images[image['Id']] = image
        self.pulled = pulled
        self.calls = []

    def inspect_container(self, name):
        return copy.deepcopy(self.container)

    def inspect_image(self, ref):
        return self.images.get(ref)

    def pull(self, ref, auth_file=None, tls_verify=None, platform=None, cert_dir=None, env=None):
        self.calls.append(('pull', auth_file, tls_verify))
        if auth_file and os.path.exists(auth_file):
            self.auth_seen = (oct(os.stat(auth_file).st_mode & 0o777), json.load(open(auth_file)))
        self.images[ref] = self.pulled
        self.images[self.pulled['Id']] = self.pulled

    def _set(self, status):
        self.container['State']['Status'] = status

    def create(self, args, name=None):
        self.calls.append(('create', args))
        self.container = load('container-fxplain')
        self.container['Image'] = self.images[IMAGE]['Id']

    def remove(self, name, force=False, timeout=None):
        self.calls.append(('remove', force, timeout))
        self.container = None

    def start(self, name):
        self.calls.append(('start',))
        self._set('running')

    def stop(self, name, timeout=None):
        self.calls.append(('stop',))
        self._set('exited')

    def kill(self, name, signal='KILL'):
        self.calls.append(('kill', signal))
        self._set('exited')

    def pause(self, name):
        self.calls.append(('pause',))
        self._set('paused')

    def unpause(self, name):
        self.calls.append(('unpause',))
        self._set('running')

    def restart(self, name):
        self.calls.append(('restart',))
        self._set('running')


def params(**extra):
    base = dict(name='web', image=IMAGE, state='started', pull='missing')
    base.update(extra)
    return base


def running_plain():
    container = load('container-fxplain')
    container['State']['Status'] = 'running'
    return container


def test_check_mode_executes_nothing():
    eng = FakeEngine(container=None, image=None, pulled=load('image-busybox'))
    result = ContainerManager(eng, params(env={'A': '1'}), check_mode=True).apply()
    assert result['changed'] is True
    assert result['actions'] == ['pull', 'create', 'start']
    assert eng.calls == []
    assert result['container'] == {}
    assert result['diff'] == {'before': {'state': 'absent'},
                              'after': {'state': 'running', 'image': IMAGE, 'env': {'A': '1'}}}


def test_apply_creates_pulls_and_starts():
    eng = FakeEngine(container=None, image=None, pulled=load('image-busybox'))
    result = ContainerManager(eng, params(username='me', password='pw'), check_mode=False).apply()
    assert result['actions'] == ['pull', 'create', 'start']
    assert [c[0] for c in eng.calls] == ['pull', 'create', 'start']
    assert eng.calls[0][1] is not None and not os.path.exists(eng.calls[0][1])
    # Handed to podman in a 0600 file (never argv), for the image's registry only, removed afterwards.
    assert eng.auth_seen == (oct(0o600), {'auths': {'localhost': {'auth': 'bWU6cHc='}}})
    assert result['container']['state'] == 'running'


def test_credentials_with_a_short_name_are_refused():
    eng = FakeEngine(container=None, image=None, pulled=load('image-busybox'))
    with pytest.raises(ConfigError, match='short name'):
        ContainerManager(eng, params(image='busybox', username='me', password='pw'), check_mode=False).apply()
    assert eng.calls == []


def test_matching_container_is_not_changed():
    eng = FakeEngine(container=running_plain(), image=load('image-busybox'))
    result = ContainerManager(eng, params(command='/bin/sleep 3600'), check_mode=False).apply()
    assert result == dict(result, changed=False, actions=[])
    assert result['diff'] == {'before': {'state': 'running'}, 'after': {'state': 'running'}}
    assert eng.calls == []


def test_drift_recreates_and_reports_the_keys():
    eng = FakeEngine(container=running_plain(), image=load('image-busybox'))
    result = ContainerManager(eng, params(labels={'app': 'web'}, force_kill=True), check_mode=False).apply()
    assert result['actions'] == ['recreate', 'start']
    assert eng.calls[0] == ('remove', True, 0)
    assert result['diff']['before'] == {'state': 'running', 'labels': {'app': None}}
    assert result['diff']['after'] == {'state': 'running', 'labels': {'app': 'web'}}


def test_pull_always_recreates_when_the_image_changed():
    old = load('image-busybox')
    new = copy.deepcopy(old)
    new['Id'] = 'f' * 64
    eng = FakeEngine(container=running_plain(), image=old, pulled=new)
    result = ContainerManager(eng, params(pull='always'), check_mode=False).apply()
    assert result['actions'] == ['pull', 'recreate', 'start']
    assert result['diff']['after']['image_id'] == 'f' * 64


def test_pull_always_same_image_is_no_change_and_check_mode_predicts_none():
    eng = FakeEngine(container=running_plain(), image=load('image-busybox'), pulled=load('image-busybox'))
    assert ContainerManager(eng, params(pull='always'), check_mode=True).apply()['actions'] == []
    assert eng.calls == []
    result = ContainerManager(eng, params(pull='always'), check_mode=False).apply()
    assert result['actions'] == [] and result['changed'] is False
    assert [c[0] for c in eng.calls] == ['pull']


def test_pull_never_without_image():
    eng = FakeEngine(container=None, image=None)
    with pytest.raises(ConfigError, match='not in local storage and pull is never'):
        ContainerManager(eng, params(pull='never'), check_mode=True).apply()


def test_pull_newer_uses_the_resolver():
    old = load('image-busybox')
    new = copy.deepcopy(old)
    new['Id'] = 'e' * 64
    eng = FakeEngine(container=running_plain(), image=old, pulled=new)
    seen = []

    def resolver(image, local):
        seen.append((image, local['Id']))
        return True

    result = ContainerManager(eng, params(pull='newer'), check_mode=True, image_resolver=resolver).apply()
    assert result['actions'] == ['pull', 'recreate', 'start']
    assert seen == [(IMAGE, old['Id'])]
    assert eng.calls == []
    # Without a resolver newer behaves as missing.
    assert ContainerManager(eng, params(pull='newer'), check_mode=True).apply()['actions'] == []


def test_absent():
    eng = FakeEngine(container=running_plain(), image=load('image-busybox'))
    result = ContainerManager(eng, dict(name='web', state='absent'), check_mode=False).apply()
    assert result['actions'] == ['stop', 'remove']
    assert result['container'] == {}
    assert ContainerManager(eng, dict(name='web', state='absent'), check_mode=False).apply()['changed'] is False


def test_image_required():
    with pytest.raises(ConfigError, match='image is required for state started'):
        ContainerManager(FakeEngine(), dict(name='web', state='started'), check_mode=True).apply()
