# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""lifecycle.pull: the decision, names, the temporary auth file, and PodmanPull -- the one pull of image_pull and
container_state (their own tests: usecases/test_image_pull.py, usecases/test_container_state.py) -- with a fake
podman and a fake registry client."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.errors import (
    ConfigError,
    InvalidReferenceError,
    ManifestError,
    PodmanError,
    SignatureError,
)
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle import pull as pl
from ansible_collections.podkit.containers.plugins.module_utils.options import RegistryOptions
from ansible_collections.podkit.containers.plugins.module_utils.registry.reference import parse_reference
from ansible_collections.podkit.containers.plugins.module_utils.registry.registries_conf import RegistriesConf
from ansible_collections.podkit.containers.tests.unit.plugins.module_utils.lifecycle.pull_fakes import (  # noqa: F401  pylint: disable=unused-import
    fresh_remote,  # an autouse fixture
)
from ansible_collections.podkit.containers.tests.unit.plugins.module_utils.lifecycle.pull_fakes import (
    DOCKER_LIST, INDEX, INSTANCE, NAME, NEW, REG, SINGLE, FakeClient, FakeEngine, inspect, serve,
)

LOCAL_SINGLE = inspect(digests=(SINGLE,))
LOCAL_FROM_INDEX = inspect(digests=(INDEX, INSTANCE))


# -- the decision table ------------------------------------------------------------------------------

@pytest.mark.parametrize('policy, present, current, expected', [
    ('missing', False, None, (True, True)),
    ('missing', True, None, (False, False)),
    ('newer', False, False, (True, True)),
    ('newer', True, True, (False, False)),
    ('newer', True, False, (True, True)),
    ('always', False, False, (True, True)),
    ('always', True, True, (True, False)),
    ('always', True, False, (True, True)),
])
def test_decide(policy, present, current, expected):
    assert tuple(pl.decide(policy, present, current)) == expected


def test_decide_rejects_unknown_policy():
    with pytest.raises(ConfigError, match='missing, newer, always'):
        pl.decide('sometimes', True, True)


@pytest.mark.parametrize('policy, present, pinned, expected', [
    ('missing', True, False, False),
    ('missing', False, False, True),
    ('newer', True, True, False),
    ('newer', True, False, True),
    ('always', True, True, True),
])
def test_needs_registry(policy, present, pinned, expected):
    assert pl.needs_registry(policy, present, pinned) is expected


# -- names ----------------------------------------------------------------------------------------

@pytest.mark.parametrize('name, tag, digest, expected', [
    ('r.example/a', None, None, 'r.example/a'),
    ('docker://r.example/a:1', None, None, 'r.example/a:1'),
    ('r.example/a', '2', None, 'r.example/a:2'),
    ('r.example/a:2', '2', None, 'r.example/a:2'),
    ('r.example/a', None, SINGLE, 'r.example/a@' + SINGLE),
    ('r.example/a:1@' + SINGLE, None, None, 'r.example/a@' + SINGLE),
    ('localhost:5000/a', '1', None, 'localhost:5000/a:1'),
])
def test_image_text(name, tag, digest, expected):
    assert pl.image_text(name, tag, digest) == expected


@pytest.mark.parametrize('name, tag, digest, error, fragment', [
    ('', None, None, ConfigError, 'empty'),
    ('r.example/a:1', '2', None, ConfigError, 'drop tag'),
    ('r.example/a', '1', SINGLE, ConfigError, 'mutually exclusive'),
    ('r.example/a', 'bad tag', None, InvalidReferenceError, 'tag'),
    ('r.example/a', None, 'sha256:abc', InvalidReferenceError, 'sha256'),
])
def test_image_text_errors(name, tag, digest, error, fragment):
    with pytest.raises(error, match=fragment):
        pl.image_text(name, tag, digest)


def test_podman_auth_rejects_colon_in_username():
    with pytest.raises(ConfigError, match="':'"):
        with pl.podman_auth(RegistryOptions(username='a:b', password='x'), REG):
            pass


# -- PodmanPull: pull: newer (behind) -------------------------------------------------------------

def puller(conf=None, options=None, **kw):
    return pl.PodmanPull(options or RegistryOptions(), client_factory=FakeClient, conf=conf if conf is not None else RegistriesConf(), **kw)


def test_behind_compares_the_registry_digest_with_repo_digests():
    serve(INDEX, DOCKER_LIST)
    assert puller().behind(NAME + ':1', LOCAL_FROM_INDEX) is False
    assert puller().behind(NAME + ':1', LOCAL_SINGLE) is True
    assert puller().behind(NAME + ':1', None) is True
    # A pinned digest in RepoDigests: no HEAD.
    FakeClient.heads = []
    assert puller().behind(NAME + '@' + INDEX, LOCAL_FROM_INDEX) is False and FakeClient.heads == []


def test_behind_short_name_uses_the_local_candidate():
    conf = RegistriesConf(unqualified_search_registries=['first.example', REG])
    serve(SINGLE, registry=REG, repository='app', tag='1')
    local = inspect(digests=(SINGLE,), name=REG + '/app')
    assert puller(conf).behind('app:1', local) is False
    assert FakeClient.heads == [REG + '/app:1']


# -- PodmanPull: the pull itself (fetch) ----------------------------------------------------------

class Verifying(pl.PodmanPull):
    """A policy that requires signatures for every image; ``accepted`` stands for what verify_image returned."""

    def __init__(self, accepted, **kw):
        pl.PodmanPull.__init__(self, RegistryOptions(), client_factory=FakeClient, conf=RegistriesConf(), **kw)
        self.accepted = accepted
        self.verified = []

    def policy(self):
        return {'default': [{'type': 'signedBy'}]}

    def verify(self, asked, digest):
        self.verified.append((str(asked), digest))
        if isinstance(self.accepted, Exception):
            raise self.accepted
        return self.accepted


@pytest.fixture
def requires_all(monkeypatch):
    # _verified asks signatures.policy.requires_verification before the registry is asked for a digest.
    from ansible_collections.podkit.containers.plugins.module_utils.signatures import policy
    monkeypatch.setattr(policy, 'requires_verification', lambda loaded, ref: True)


def test_fetch_without_a_policy_pulls_the_name_as_given():
    # container_state's pull: podman resolves the name; nothing asks the registry.
    engine = FakeEngine(on_pull=LOCAL_SINGLE)
    fetched = puller(platform='linux/arm64').fetch(engine, NAME + ':1')
    assert fetched == pl.Fetched(LOCAL_SINGLE, None)
    assert [p['ref'] for p in engine.pulls] == [NAME + ':1'] and engine.pulls[0]['platform'] == 'linux/arm64'
    assert FakeClient.heads == [] and engine.tags == []


def test_fetch_with_what_the_caller_asked_pulls_the_resolved_name():
    # image_pull's pull: the registry was asked first; without a policy the resolved name is pulled.
    engine = FakeEngine(on_pull=LOCAL_SINGLE)
    asked = parse_reference(NAME + ':1')
    assert puller().fetch(engine, NAME + ':1', asked=asked, digest=SINGLE).image == LOCAL_SINGLE
    assert [p['ref'] for p in engine.pulls] == [NAME + ':1'] and engine.tags == []


@pytest.mark.parametrize('given', [False, True])
def test_fetch_verified_pulls_the_digest_and_tags_the_name(requires_all, given):
    # Both callers: image_pull gives the digest it asked for, container_state lets fetch ask (one HEAD).
    serve(NEW)
    engine = FakeEngine(on_pull=LOCAL_SINGLE)
    pull = Verifying([{'type': 'simple'}])
    kw = dict(asked=parse_reference(NAME + ':1'), digest=NEW) if given else {}
    fetched = pull.fetch(engine, NAME + ':1', **kw)
    assert fetched.signatures == [{'type': 'simple'}] and fetched.image == LOCAL_SINGLE
    assert pull.verified == [(NAME + ':1', NEW)]
    assert [p['ref'] for p in engine.pulls] == [NAME + '@' + NEW] and engine.tags == [(NAME + '@' + NEW, NAME + ':1')]
    assert FakeClient.heads == ([] if given else [REG + '/team/app:1'])


def test_fetch_check_mode_verifies_and_pulls_nothing(requires_all):
    serve(NEW)
    engine = FakeEngine(on_pull=LOCAL_SINGLE)
    assert Verifying([{'type': 'simple'}]).fetch(engine, NAME + ':1', check_mode=True) == pl.Fetched(None, [{'type': 'simple'}])
    assert engine.pulls == []


def test_fetch_refused_signatures_pull_nothing(requires_all):
    serve(NEW)
    engine = FakeEngine(on_pull=LOCAL_SINGLE)
    with pytest.raises(SignatureError, match='no signature'):
        Verifying(SignatureError('no signature for it')).fetch(engine, NAME + ':1')
    assert engine.pulls == []


def test_fetch_reuses_the_digest_behind_asked_for(requires_all):
    serve(NEW)
    pull = Verifying([])
    assert pull.behind(NAME + ':1', LOCAL_SINGLE) is True
    pull.fetch(FakeEngine(on_pull=LOCAL_SINGLE), NAME + ':1')
    assert FakeClient.heads == [REG + '/team/app:1'] and pull.verified == [(NAME + ':1', NEW)]


def test_fetch_image_gone_afterwards_is_one_podman_error_for_both_callers():
    for kw in ({}, dict(asked=parse_reference(NAME + ':1'), digest=SINGLE)):
        with pytest.raises(PodmanError, match='podman pulled %s:1 but the image is not in local storage afterwards' % NAME) as err:
            puller().fetch(FakeEngine(on_pull=None), NAME + ':1', **kw)
        assert err.value.details['image'] == NAME + ':1'


def test_fetch_credentials_need_a_fully_qualified_name():
    engine = FakeEngine(on_pull=LOCAL_SINGLE)
    for check_mode in (True, False):
        with pytest.raises(ConfigError, match='app:1 is a short name'):
            puller(options=RegistryOptions(username='u', password='p')).fetch(engine, 'app:1', check_mode=check_mode)
    assert engine.pulls == []


class FailingEngine(FakeEngine):
    def pull(self, ref, **kw):
        FakeEngine.pull(self, ref, **kw)
        raise PodmanError('podman pull failed for image %s: unsupported image-specific operation on artifact' % ref)


def test_fetch_names_an_artifact_when_podman_fails():
    serve(SINGLE)
    FakeClient.artifacts[SINGLE] = 'application/vnd.cncf.helm.config.v1+json'
    with pytest.raises(ManifestError, match='is an OCI artifact'):
        puller().fetch(FailingEngine(), NAME + ':1')


def test_fetch_keeps_podmans_error_when_the_registry_does_not_answer_either():
    # Nothing served: the HEAD that would tell an artifact fails too; podman's message is the one to show.
    with pytest.raises(PodmanError, match='podman pull failed for image %s:1' % NAME):
        puller().fetch(FailingEngine(), NAME + ':1')
