# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""image_pull's use case with a fake podman and a fake registry client: the decision table, name resolution,
the podman argv (no secret on it), temp auth/cert files, check mode, diff."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import threading

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.errors import (
    AuthenticationError,
    ConfigError,
    ManifestError,
    NotFoundError,
    PodmanError,
    PodmanNotFoundError,
    RegistryUnreachableError,
)
from ansible_collections.podkit.containers.plugins.module_utils.usecases import image_pull as ip
from ansible_collections.podkit.containers.plugins.module_utils.usecases.image_pull import pull_image
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.podman import PodmanEngine
from ansible_collections.podkit.containers.plugins.module_utils.options import RegistryOptions
from ansible_collections.podkit.containers.plugins.module_utils.registry.registries_conf import RegistriesConf
from ansible_collections.podkit.containers.tests.unit.plugins.module_utils.lifecycle.pull_fakes import (  # noqa: F401  pylint: disable=unused-import
    fresh_remote,  # an autouse fixture
)
from ansible_collections.podkit.containers.tests.unit.plugins.module_utils.lifecycle.pull_fakes import (
    DOCKER_LIST, INDEX, INSTANCE, NAME, NEW, OCI_MANIFEST, REG, SECRET, SINGLE, FakeClient, FakeEngine, inspect, serve,
)


def run(engine, name=NAME + ':1', options=None, conf=None, **kw):
    return pull_image(name, options or RegistryOptions(), engine_factory=lambda: engine, client_factory=FakeClient,
                      conf=conf if conf is not None else RegistriesConf(), **kw)


# Remote: same digest, a different one, or an index whose digest podman recorded next to the instance's.
LOCAL_SINGLE = inspect(digests=(SINGLE,))
LOCAL_FROM_INDEX = inspect(digests=(INDEX, INSTANCE))


@pytest.mark.parametrize('policy, local, remote, media_type, pull, changed', [
    ('missing', None, SINGLE, OCI_MANIFEST, True, True),
    ('missing', LOCAL_SINGLE, NEW, OCI_MANIFEST, False, False),
    ('newer', None, SINGLE, OCI_MANIFEST, True, True),
    ('newer', LOCAL_SINGLE, SINGLE, OCI_MANIFEST, False, False),
    ('newer', LOCAL_SINGLE, NEW, OCI_MANIFEST, True, True),
    ('newer', LOCAL_FROM_INDEX, INDEX, DOCKER_LIST, False, False),
    ('newer', LOCAL_FROM_INDEX, NEW, DOCKER_LIST, True, True),
    # The instance digest is in RepoDigests too, but the registry now serves an index: index vs index differs.
    ('newer', inspect(digests=(INSTANCE,)), INDEX, DOCKER_LIST, True, True),
    ('always', None, SINGLE, OCI_MANIFEST, True, True),
    ('always', LOCAL_SINGLE, SINGLE, OCI_MANIFEST, True, False),
    ('always', LOCAL_FROM_INDEX, NEW, DOCKER_LIST, True, True),
])
def test_table_check_mode(policy, local, remote, media_type, pull, changed):
    serve(remote, media_type)
    engine = FakeEngine({NAME + ':1': local} if local else {})
    result = run(engine, policy=policy, check_mode=True)
    assert (result['pull_needed'], result['changed'], result['pulled']) == (pull, changed, False)
    assert engine.pulls == []
    if policy == 'missing' and local:
        assert FakeClient.heads == [] and result['remote_digest'] is None
    else:
        assert FakeClient.heads == ['%s/team/app:1' % REG]
        assert result['remote_digest'] == remote
    assert result['resolved_name'] == NAME + ':1' and 'resolved_from' not in result
    assert result['diff']['before']['id'] == (local or {}).get('Id')
    assert result['diff']['after']['id'] == (ip.TO_BE_PULLED if changed else (local or {}).get('Id'))


@pytest.mark.parametrize('check_mode', [True, False])
def test_artifact_refused_before_podman(check_mode):
    serve(SINGLE)
    FakeClient.artifacts[SINGLE] = 'application/vnd.cncf.helm.config.v1+json'
    engine = FakeEngine({}, on_pull=inspect())
    with pytest.raises(ManifestError, match=r'is an OCI artifact \(application/vnd\.cncf\.helm\.config\.v1\+json\), '
                                            r'not a container image'):
        run(engine, check_mode=check_mode)
    assert engine.pulls == []


def test_images_pass_the_artifact_check():
    serve(SINGLE)
    engine = FakeEngine({}, on_pull=inspect())
    assert run(engine)['pulled'] is True


@pytest.mark.parametrize('policy, local, remote, after, changed', [
    ('newer', None, SINGLE, inspect('2' * 64, (SINGLE,)), True),
    ('newer', LOCAL_SINGLE, NEW, inspect('2' * 64, (NEW,)), True),
    ('newer', LOCAL_FROM_INDEX, INDEX, None, False),
    ('always', LOCAL_SINGLE, SINGLE, LOCAL_SINGLE, False),
    ('always', LOCAL_SINGLE, NEW, inspect('2' * 64, (NEW,)), True),
    ('missing', None, SINGLE, inspect('2' * 64, (SINGLE,)), True),
])
def test_table_apply(policy, local, remote, after, changed):
    serve(remote)
    engine = FakeEngine({NAME + ':1': local} if local else {}, on_pull=after)
    result = run(engine, policy=policy)
    assert result['changed'] is changed
    assert result['pulled'] is (after is not None)
    assert [p['ref'] for p in engine.pulls] == ([NAME + ':1'] if after is not None else [])
    final = after or local
    assert result['image']['id'] == final['Id']
    assert result['image']['digest'] == remote
    assert result['local_digest_before'] == (remote if local and remote in ip.repo_digests(local, NAME) else (local or {}).get('Digest'))
    assert result['diff']['after']['id'] == final['Id']


def test_always_same_id_with_new_digest_is_no_change():
    """always: changed only when the image ID for the name changed."""
    serve(NEW)
    engine = FakeEngine({NAME + ':1': LOCAL_SINGLE}, on_pull=inspect(digests=(SINGLE, NEW)))
    result = run(engine, policy='always')
    assert result['pulled'] is True and result['changed'] is False


def test_newer_platform_mismatch_pulls():
    serve(INDEX, DOCKER_LIST)
    engine = FakeEngine({NAME + ':1': inspect(digests=(INDEX, INSTANCE), arch='amd64')})
    assert run(engine, policy='newer', platform='linux/arm64/v8', check_mode=True)['changed'] is True
    assert run(engine, policy='newer', platform='linux/amd64', check_mode=True)['changed'] is False
    with pytest.raises(ConfigError, match='os/arch'):
        run(engine, policy='newer', platform='linux', check_mode=True)


def test_short_name_through_search_registries():
    conf = RegistriesConf(unqualified_search_registries=['first.example', REG])
    serve(SINGLE, registry=REG, repository='app', tag='1')
    engine = FakeEngine(on_pull=inspect(digests=(SINGLE,), name=REG + '/app'))
    result = run(engine, name='app:1', conf=conf)
    assert result['resolved_name'] == REG + '/app:1' and result['resolved_from'] == 'search'
    assert FakeClient.heads == ['first.example/app:1', REG + '/app:1']
    assert engine.pulls[0]['ref'] == REG + '/app:1'


def test_short_name_alias_and_missing_offline():
    conf = RegistriesConf(unqualified_search_registries=['first.example'], aliases={'app': REG + '/team/app'})
    engine = FakeEngine({NAME + ':1': LOCAL_SINGLE})
    result = run(engine, name='app:1', conf=conf, policy='missing')
    assert result['resolved_name'] == NAME + ':1' and result['resolved_from'] == 'alias'
    assert result['changed'] is False and FakeClient.heads == []


def test_short_name_missing_takes_the_first_local_candidate():
    conf = RegistriesConf(unqualified_search_registries=['first.example', REG])
    engine = FakeEngine({REG + '/app:1': inspect(name=REG + '/app')})
    result = run(engine, name='app:1', conf=conf, policy='missing')
    assert result['resolved_name'] == REG + '/app:1' and FakeClient.heads == []


def test_mirror_is_asked_first():
    conf = RegistriesConf(registries=[pl_entry(REG, mirrors=[{'location': 'mirror.example', 'insecure': True,
                                                              'pull-from-mirror': 'all'}])])
    serve(SINGLE, registry='mirror.example')
    result = run(FakeEngine(), conf=conf, check_mode=True)
    assert FakeClient.heads == ['mirror.example/team/app:1'] and result['remote_digest'] == SINGLE


def pl_entry(prefix, mirrors=()):
    from ansible_collections.podkit.containers.plugins.module_utils.registry.registries_conf import RegistryEntry
    return RegistryEntry(prefix, prefix, mirrors=list(mirrors))


def test_pinned_digest_present_needs_no_registry():
    engine = FakeEngine({NAME + '@' + INDEX: LOCAL_FROM_INDEX})
    result = run(engine, name=NAME, digest=INDEX, policy='newer')
    assert result['changed'] is False and result['remote_digest'] == INDEX and FakeClient.heads == []


# -- errors ---------------------------------------------------------------------------------------

def test_missing_tag_is_a_clear_error():
    with pytest.raises(NotFoundError, match='not found in registry'):
        run(FakeEngine(), check_mode=True)


def test_unreachable_registry():
    FakeClient.remote[(REG, 'team/app', '1')] = RegistryUnreachableError('cannot connect to registry %s: connection refused' % REG,
                                                                         registry=REG)
    with pytest.raises(RegistryUnreachableError, match='connection refused'):
        run(FakeEngine({NAME + ':1': LOCAL_SINGLE}), policy='newer')
    assert run(FakeEngine({NAME + ':1': LOCAL_SINGLE}), policy='missing')['changed'] is False


def test_image_gone_after_pull():
    serve(SINGLE)
    with pytest.raises(PodmanError, match='not in local storage afterwards'):
        run(FakeEngine(on_pull=None))


# -- the HEAD and podman's inspect at the same time ------------------------------------------------

class GatedEngine(FakeEngine):
    """inspect_image waits (at most 5 s) until the registry was asked: only a HEAD made meanwhile lets it go on."""

    def __init__(self, asked, images=None, error=None):
        FakeEngine.__init__(self, images)
        self.asked = asked
        self.error = error
        self.saw_head = None

    def inspect_image(self, ref):
        self.saw_head = self.asked.wait(5)
        if self.error is not None:
            raise self.error
        return FakeEngine.inspect_image(self, ref)


class SignallingClient(FakeClient):
    asked = None

    def head_manifest(self, repository, reference, accept=None):
        try:
            return FakeClient.head_manifest(self, repository, reference, accept)
        finally:
            SignallingClient.asked.set()


@pytest.fixture
def signalling():
    SignallingClient.asked = threading.Event()
    return SignallingClient


def test_head_runs_while_podman_inspects(signalling):
    serve(SINGLE)
    engine = GatedEngine(signalling.asked, {NAME + ':1': LOCAL_SINGLE})
    result = pull_image(NAME + ':1', RegistryOptions(), engine_factory=lambda: engine, client_factory=signalling, conf=RegistriesConf())
    assert engine.saw_head is True
    assert result['changed'] is False and result['remote_digest'] == SINGLE and FakeClient.heads == [NAME + ':1']


@pytest.mark.parametrize('kw', [dict(policy='missing'), dict(digest=INDEX, name=NAME)])
def test_no_head_ahead_when_local_storage_may_answer(signalling, kw):
    """missing, or a pinned digest, may need no registry at all: podman is asked first, alone."""
    name = kw.pop('name', NAME + ':1')
    local = {NAME + ':1': LOCAL_SINGLE, NAME + '@' + INDEX: LOCAL_FROM_INDEX}
    engine = GatedEngine(signalling.asked, local)
    engine.asked.set()  # nothing to wait for
    pull_image(name, RegistryOptions(), engine_factory=lambda: engine, client_factory=signalling, conf=RegistriesConf(), **kw)
    assert FakeClient.heads == []


def test_podman_error_comes_before_the_registry_error(signalling):
    """Both fail: the error is podman's, as when the two were asked one after the other."""
    FakeClient.remote[(REG, 'team/app', '1')] = RegistryUnreachableError('cannot connect', registry=REG)
    engine = GatedEngine(signalling.asked, error=PodmanNotFoundError('podman is not installed'))
    with pytest.raises(PodmanNotFoundError):
        pull_image(NAME + ':1', RegistryOptions(), engine_factory=lambda: engine, client_factory=signalling, conf=RegistriesConf())


def test_registry_error_from_the_thread_is_raised_as_is(signalling):
    FakeClient.remote[(REG, 'team/app', '1')] = AuthenticationError('registry %s refused the credentials' % REG, registry=REG)
    engine = GatedEngine(signalling.asked, {NAME + ':1': LOCAL_SINGLE})
    with pytest.raises(AuthenticationError, match='refused the credentials'):
        pull_image(NAME + ':1', RegistryOptions(), engine_factory=lambda: engine, client_factory=signalling, conf=RegistriesConf())
    assert engine.saw_head is True


def test_unsupported_dest_transport():
    with pytest.raises(ConfigError, match="dest 'dir:/tmp/x' is not supported"):
        pull_image(NAME + ':1', RegistryOptions(), dest='dir:/tmp/x', client_factory=FakeClient, conf=RegistriesConf())
    assert FakeClient.heads == []


# -- what podman is given -------------------------------------------------------------------------

def test_credentials_only_in_a_private_temp_auth_file(tmp_path):
    ca = tmp_path / 'ca.pem'
    ca.write_text(u'-----BEGIN CERTIFICATE-----\n')
    serve(SINGLE)
    engine = FakeEngine(on_pull=inspect(digests=(SINGLE,)))
    options = RegistryOptions(username='deploy', password=SECRET, ca_cert=str(ca), registries_conf='/etc/x.conf')
    result = run(engine, options=options)
    call = engine.pulls[0]
    assert call['seen']['auth_mode'] == 0o600 and call['seen']['dir_mode'] == 0o700
    token = base64.b64encode(('deploy:' + SECRET).encode()).decode()
    assert call['seen']['auth'] == {'auths': {REG: {'auth': token}}}
    assert call['seen']['certs'] == ['ca.crt']
    assert call['tls_verify'] is None and call['env'] == {'CONTAINERS_REGISTRIES_CONF': '/etc/x.conf'}
    assert not os.path.exists(os.path.dirname(call['auth_file'])), 'temp dir left behind'
    assert SECRET not in json.dumps(result) and token not in json.dumps(result)


def test_user_auth_file_passed_as_is_and_insecure():
    serve(SINGLE)
    engine = FakeEngine(on_pull=inspect(digests=(SINGLE,)))
    run(engine, options=RegistryOptions(auth_file='/home/u/auth.json', insecure=True))
    assert engine.pulls[0]['auth_file'] == '/home/u/auth.json' and engine.pulls[0]['tls_verify'] is False
    assert engine.pulls[0]['cert_dir'] is None and engine.pulls[0]['env'] is None


class RecordingRun(object):
    def __init__(self, image_id):
        self.calls = []
        self.image_id = image_id

    def __call__(self, argv, data=None, env=None):
        self.calls.append((list(argv), env))
        if argv[1] == 'pull':
            for flag in ('--authfile',):
                path = argv[argv.index(flag) + 1]
                with open(path) as handle:
                    self.auth_seen = json.load(handle)
            return 0, self.image_id + '\n', ''
        if argv[1] == 'image':
            if len(self.calls) == 1:
                return 125, '', 'Error: inspecting object: image not known'
            return 0, json.dumps([inspect(self.image_id, (SINGLE,))]), ''
        raise AssertionError(argv)


def test_podman_argv_has_no_secret():
    """The real PodmanEngine builds the argv: credentials by --authfile only, TLS and platform flags."""
    serve(SINGLE)
    fake = RecordingRun('9' * 64)
    engine = PodmanEngine(fake, executable='podman', which=lambda name: '/usr/bin/podman')
    result = pull_image(NAME + ':1', RegistryOptions(username='deploy', password=SECRET, validate_certs=False),
                        engine_factory=lambda: engine, client_factory=FakeClient, conf=RegistriesConf(), platform='linux/arm64/v8')
    argv, env = [c for c in fake.calls if c[0][1] == 'pull'][0]
    assert argv[:3] == ['/usr/bin/podman', 'pull', '--quiet']
    assert argv[argv.index('--authfile') + 1].endswith('/auth.json')
    assert '--tls-verify=false' in argv and argv[argv.index('--platform') + 1] == 'linux/arm64/v8'
    assert argv[-1] == NAME + ':1' and env is None
    flat = ' '.join(argv)
    assert SECRET not in flat and base64.b64encode(('deploy:' + SECRET).encode()).decode() not in flat
    assert not any(a.startswith('--creds') for a in argv)
    assert fake.auth_seen['auths'][REG]['auth']
    assert result['changed'] is True and result['image']['id'] == '9' * 64


def test_podman_missing():
    def factory():
        return PodmanEngine(RecordingRun('0'), executable='/nonexistent/podman')
    with pytest.raises(PodmanNotFoundError, match='not installed'):
        pull_image(NAME, RegistryOptions(), engine_factory=factory, client_factory=FakeClient, conf=RegistriesConf())
