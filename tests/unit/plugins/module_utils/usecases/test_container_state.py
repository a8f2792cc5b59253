# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_state's use case: ContainerManager with a fake engine (pull policies, check mode, signatures)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError
from ansible_collections.podkit.containers.plugins.module_utils.usecases.container_state import ContainerManager

# Real podman 4.3.1 inspect output, shared with the spec tests.
FIXTURES = os.path.join(os.path.dirname(__file__), '..', 'lifecycle', 'fixtures')
IMAGE = 'localhost/podkit-lifecycle/busybox:1'


def load(name):
    with open(os.path.join(FIXTURES, name + '.json')) as handle:
        return json.load(handle)[0]


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

    def inspect_container_and_image(self, name, image):
        return self.inspect_container(name), self.inspect_image(image)

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


class BehindPuller(object):
    """A PodmanPull stand-in for pull: newer: ``behind`` answers ``answer`` and records what it was asked; ``fetch``
    (check mode only here) verifies nothing."""

    def __init__(self, answer):
        self.answer = answer
        self.asked = []

    def behind(self, image, local):
        self.asked.append((image, local['Id']))
        return self.answer

    def fetch(self, engine, image, check_mode=False):
        # Imported here: test_no_op_imports_nothing_from_registry_or_signatures imports this file.
        from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.pull import Fetched
        assert check_mode
        return Fetched(None, None)


def test_pull_newer_asks_the_puller():
    old = load('image-busybox')
    new = copy.deepcopy(old)
    new['Id'] = 'e' * 64
    eng = FakeEngine(container=running_plain(), image=old, pulled=new)
    behind = BehindPuller(True)
    result = ContainerManager(eng, params(pull='newer'), check_mode=True, puller_factory=lambda: behind).apply()
    assert result['actions'] == ['pull', 'recreate', 'start']
    assert behind.asked == [(IMAGE, old['Id'])]
    assert eng.calls == []
    current = BehindPuller(False)
    assert ContainerManager(eng, params(pull='newer'), check_mode=True, puller_factory=lambda: current).apply()['actions'] == []
    assert current.asked == [(IMAGE, old['Id'])]


def test_absent():
    eng = FakeEngine(container=running_plain(), image=load('image-busybox'))
    result = ContainerManager(eng, dict(name='web', state='absent'), check_mode=False).apply()
    assert result['actions'] == ['stop', 'remove']
    assert result['container'] == {}
    assert ContainerManager(eng, dict(name='web', state='absent'), check_mode=False).apply()['changed'] is False


def test_image_required():
    with pytest.raises(ConfigError, match='image is required for state started'):
        ContainerManager(FakeEngine(), dict(name='web', state='started'), check_mode=True).apply()


# -- pulls under a signature policy (lifecycle.pull.PodmanPull with a fake registry and a fake gpg) --- -------------

REG = 'registry.example:5000'
SIGNED = REG + '/release/app'
GOOD = 'sha256:' + 'a' * 64
OTHER = 'sha256:' + 'b' * 64
FPR = 'F' * 40


class FakeClient(object):
    """head_manifest answers from ``FakeClient.remote`` {(repository, reference): digest}."""
    remote = {}
    heads = []

    def __init__(self, registry, options, conf=None):
        self.registry = registry

    def head_manifest(self, repository, reference, accept=None):
        from ansible_collections.podkit.containers.plugins.module_utils.errors import NotFoundError
        FakeClient.heads.append('%s:%s' % (repository, reference))
        digest = FakeClient.remote.get((repository, reference))
        if digest is None:
            raise NotFoundError('manifest unknown', registry=self.registry, repository=repository, status=404)
        return {'digest': digest, 'mediaType': 'application/vnd.oci.image.manifest.v1+json', 'size': 100}


class FakeGpg(object):
    """gpg --import / --decrypt as gpg's status lines say them; a "signature" is its payload prefixed with the signer."""

    def __init__(self):
        self.calls = []

    def __call__(self, argv, data=None, env=None):
        self.calls.append(argv[-1])
        if argv[-1] == '--import':
            return 0, b'', ('[GNUPG:] IMPORT_OK 1 %s\n' % FPR).encode()
        signer, dummy, payload = data.partition(b'|')
        if signer.decode() != FPR:
            return 2, b'', b'[GNUPG:] ERRSIG 0123 22 8 00 1 9\n[GNUPG:] NO_PUBKEY 0123\n'
        return 0, payload, ('[GNUPG:] VALIDSIG %s 2024-01-01 1 0 4 0 22 8 00 %s\n' % (FPR, FPR)).encode()


class PullEngine(FakeEngine):
    """FakeEngine whose pull stores the image under the pulled name; tag() adds a name."""

    def pull(self, ref, auth_file=None, tls_verify=None, platform=None, cert_dir=None, env=None):
        self.calls.append(('pull', ref))
        self.images[ref] = self.pulled
        self.images[self.pulled['Id']] = self.pulled

    def tag(self, image, name):
        self.calls.append(('tag', image, name))
        self.images[name] = self.images[image]

    def create(self, args, name=None):
        self.calls.append(('create', args))
        self.container = load('container-fxplain')
        self.container['Image'] = self.images[args[-1]]['Id']


@pytest.fixture
def signing(tmp_path):
    from ansible_collections.podkit.containers.plugins.module_utils.registry.registries_conf import RegistriesConf
    from ansible_collections.podkit.containers.plugins.module_utils.signatures import payload as pl
    FakeClient.remote = {}
    FakeClient.heads = []
    key = tmp_path / 'key.gpg'
    key.write_bytes(b'public key')
    policy = tmp_path / 'policy.json'
    policy.write_text(json.dumps({'default': [{'type': 'insecureAcceptAnything'}], 'transports': {'docker': {
        REG + '/release': [{'type': 'signedBy', 'keyType': 'GPGKeys', 'keyPath': str(key)}],
        REG + '/quarantine': [{'type': 'reject'}]}}}))
    registries_d = tmp_path / 'registries.d'
    registries_d.mkdir()
    lookaside = tmp_path / 'lookaside'
    (registries_d / 'r.yaml').write_text('docker:\n  %s:\n    lookaside: file://%s\n' % (REG, lookaside))
    sig_dir = lookaside / ('release/app@sha256=' + 'a' * 64)
    sig_dir.mkdir(parents=True)
    (sig_dir / 'signature-1').write_bytes(FPR.encode() + b'|' + pl.build(pl.SIMPLE_TYPE, GOOD, SIGNED + ':1'))
    gpg = FakeGpg()

    class Signing(object):
        pass

    s = Signing()
    s.gpg = gpg
    s.signatures = dict(policy=str(policy), registries_d=str(registries_d), run_command=gpg)
    s.conf = RegistriesConf()
    return s


def puller(signing):
    from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.pull import PodmanPull
    from ansible_collections.podkit.containers.plugins.module_utils.options import RegistryOptions
    made = []

    def factory():
        made.append(PodmanPull(RegistryOptions(), signatures=signing.signatures, client_factory=FakeClient, conf=signing.conf))
        return made[-1]
    factory.made = made
    return factory


def signed_image(image_id):
    image = copy.deepcopy(load('image-busybox'))
    image['Id'] = image_id
    return image


def test_signed_image_is_verified_pulled_by_digest_and_tagged(signing):
    FakeClient.remote[('release/app', '1')] = GOOD
    eng = PullEngine(container=None, image=None, pulled=signed_image('1' * 64))
    check = ContainerManager(eng, params(image=SIGNED + ':1'), check_mode=True, puller_factory=puller(signing)).apply()
    assert check['actions'] == ['pull', 'create', 'start'] and eng.calls == []
    assert check['signatures'] == [{'type': 'simple', 'key': FPR, 'identity': SIGNED + ':1', 'digest': GOOD}]
    result = ContainerManager(eng, params(image=SIGNED + ':1'), puller_factory=puller(signing)).apply()
    assert result['actions'] == ['pull', 'create', 'start']
    assert eng.calls[:2] == [('pull', SIGNED + '@' + GOOD), ('tag', SIGNED + '@' + GOOD, SIGNED + ':1')]
    assert result['signatures'][0]['digest'] == GOOD


@pytest.mark.parametrize('check_mode', [True, False])
def test_unsigned_image_is_refused_before_anything_happens(signing, check_mode):
    from ansible_collections.podkit.containers.plugins.module_utils.errors import SignatureError
    FakeClient.remote[('release/app', '1')] = OTHER
    old = signed_image('1' * 64)
    eng = PullEngine(container=running_plain(), image=old, pulled=signed_image('2' * 64))
    eng.images[SIGNED + ':1'] = old
    manager = ContainerManager(eng, params(image=SIGNED + ':1', pull='newer'), check_mode=check_mode, puller_factory=puller(signing))
    with pytest.raises(SignatureError) as err:
        manager.apply()
    assert 'is not signed as the signature policy' in err.value.msg and 'no simple signature of %s' % OTHER in err.value.msg
    assert eng.calls == [] and eng.container['State']['Status'] == 'running'
    # pull: newer asked the registry once; verification checked that answer's digest.
    assert FakeClient.heads == ['release/app:1']


def test_wrong_key_and_reject(signing):
    from ansible_collections.podkit.containers.plugins.module_utils.errors import SignatureError
    FakeClient.remote[('release/app', '1')] = GOOD
    sig = os.path.join(json.load(open(signing.signatures['policy']))['transports']['docker'][REG + '/release'][0]['keyPath'])
    lookaside = os.path.join(os.path.dirname(sig), 'lookaside', 'release/app@sha256=' + 'a' * 64, 'signature-1')
    with open(lookaside, 'rb') as handle:
        data = handle.read()
    with open(lookaside, 'wb') as handle:
        handle.write(b'0' * 40 + data[40:])
    eng = PullEngine(container=None, image=None, pulled=signed_image('1' * 64))
    with pytest.raises(SignatureError, match='signature-1: signed by a key that is not in the policy'):
        ContainerManager(eng, params(image=SIGNED + ':1'), puller_factory=puller(signing)).apply()
    FakeClient.remote[('quarantine/app', '1')] = GOOD
    with pytest.raises(SignatureError, match='rejects'):
        ContainerManager(eng, params(image=REG + '/quarantine/app:1'), check_mode=True, puller_factory=puller(signing)).apply()
    assert eng.calls == []


def test_image_the_policy_accepts_anyway_is_pulled_as_named(signing):
    eng = PullEngine(container=None, image=None, pulled=signed_image('1' * 64))
    result = ContainerManager(eng, params(image=REG + '/other/app:1'), puller_factory=puller(signing)).apply()
    assert eng.calls[0] == ('pull', REG + '/other/app:1') and 'signatures' not in result
    assert FakeClient.heads == [] and signing.gpg.calls == []


def test_image_missing_after_the_pull_is_the_pull_error_of_image_pull(signing):
    from ansible_collections.podkit.containers.plugins.module_utils.errors import PodmanError
    eng = PullEngine(container=None, image=None, pulled=signed_image('1' * 64))
    eng.pull = lambda ref, **kw: eng.calls.append(('pull', ref))
    with pytest.raises(PodmanError, match='podman pulled %s/other/app:1 but the image is not in local storage afterwards' % REG):
        ContainerManager(eng, params(image=REG + '/other/app:1'), puller_factory=puller(signing)).apply()
    assert eng.calls == [('pull', REG + '/other/app:1')]


def test_no_pull_needed_makes_no_puller(signing):
    factory = puller(signing)
    eng = FakeEngine(container=running_plain(), image=load('image-busybox'))
    result = ContainerManager(eng, params(command='/bin/sleep 3600'), puller_factory=factory).apply()
    assert result['changed'] is False and factory.made == []


def test_no_op_imports_nothing_from_registry_or_signatures():
    import subprocess
    import sys
    code = '\n'.join([
        'import copy, json, sys',
        'from ansible_collections.podkit.containers.plugins.module_utils.usecases.container_state import ContainerManager',
        'sys.path.insert(0, %r)' % os.path.dirname(__file__),
        'import test_container_state as t',
        'eng = t.FakeEngine(container=t.running_plain(), image=t.load("image-busybox"))',
        'def factory():',
        '    raise AssertionError("puller made")',
        'assert ContainerManager(eng, t.params(command="/bin/sleep 3600"), puller_factory=factory).apply()["changed"] is False',
        'loaded = [m for m in sys.modules if ".module_utils.signatures" in m or ".module_utils.registry.client" in m',
        '          or ".module_utils.lifecycle.pull" in m or m == "requests"]',
        'print(json.dumps(loaded))',
    ])
    proc = subprocess.run([sys.executable, '-c', code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p)), check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout.decode().splitlines()[-1]) == []
