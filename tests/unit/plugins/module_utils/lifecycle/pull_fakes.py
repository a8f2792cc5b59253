# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fake registry client and a fake podman for the pull tests (lifecycle/test_pull.py, usecases/test_image_pull.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.errors import NotFoundError
from ansible_collections.podkit.containers.plugins.module_utils.registry import manifest as mf

REG = 'registry.example:5000'
NAME = REG + '/team/app'
INDEX = 'sha256:' + 'a' * 64
INSTANCE = 'sha256:' + 'b' * 64
SINGLE = 'sha256:' + 'c' * 64
NEW = 'sha256:' + 'd' * 64
DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'
OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
SECRET = 's3cr3t-Pa55word'


def inspect(image_id='1' * 64, digests=(SINGLE,), name=NAME, tag='1', arch='amd64'):
    """A `podman image inspect` object as podman 4.3.1 writes it (RepoDigests: every name x every digest)."""
    return {'Id': image_id, 'Digest': digests[0] if digests else None, 'Os': 'linux', 'Architecture': arch,
            'RepoTags': ['%s:%s' % (name, tag)], 'RepoDigests': ['%s@%s' % (name, d) for d in digests]}


class FakeClient(object):
    """head_manifest answers from ``FakeClient.remote`` {(registry, repository, reference): descriptor or exception}."""
    remote = {}
    heads = []
    artifacts = {}

    def __init__(self, registry, options, conf=None):
        self.registry = registry
        self.options = options

    def head_manifest(self, repository, reference, accept=None):
        FakeClient.heads.append('%s/%s:%s' % (self.registry, repository, reference))
        answer = FakeClient.remote.get((self.registry, repository, reference))
        if answer is None:
            raise NotFoundError('manifest for %s:%s not found in registry %s' % (repository, reference, self.registry),
                                registry=self.registry, repository=repository, status=404)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def get_manifest(self, repository, reference, accept=None):
        """An image manifest for every digest head_manifest served, an artifact for those in ``artifacts``."""
        for answer in FakeClient.remote.values():
            if isinstance(answer, dict) and answer['digest'] == reference:
                config_type = FakeClient.artifacts.get(reference, mf.OCI_CONFIG)
                return mf.Manifest(b'{}', answer['mediaType'], {'config': {'mediaType': config_type}, 'layers': []},
                                   reference)
        raise NotFoundError('manifest %s not found' % reference, registry=self.registry, repository=repository, status=404)


@pytest.fixture(autouse=True)
def fresh_remote():
    FakeClient.remote = {}
    FakeClient.heads = []
    FakeClient.artifacts = {}


def serve(digest, media_type=OCI_MANIFEST, registry=REG, repository='team/app', tag='1'):
    FakeClient.remote[(registry, repository, tag)] = {'digest': digest, 'mediaType': media_type, 'size': 100}


class FakeEngine(object):
    """A PodmanEngine stand-in: ``images`` {local name: inspect}; pull() replaces the entry with ``on_pull``."""

    def __init__(self, images=None, on_pull=None):
        self.images = dict(images or {})
        self.on_pull = on_pull
        self.pulls = []
        self.tags = []

    def inspect_image(self, ref):
        return self.images.get(ref)

    def pull(self, ref, auth_file=None, tls_verify=None, platform=None, cert_dir=None, env=None):
        seen = {}
        if auth_file and os.path.exists(auth_file):
            seen['auth_mode'] = stat.S_IMODE(os.stat(auth_file).st_mode)
            seen['dir_mode'] = stat.S_IMODE(os.stat(os.path.dirname(auth_file)).st_mode)
            with open(auth_file) as handle:
                seen['auth'] = json.load(handle)
        if cert_dir:
            seen['certs'] = sorted(os.listdir(cert_dir))
        self.pulls.append(dict(ref=ref, auth_file=auth_file, tls_verify=tls_verify, platform=platform, cert_dir=cert_dir,
                               env=env, seen=seen))
        if self.on_pull is not None:
            self.images[ref] = self.on_pull
        return (self.on_pull or {}).get('Id')

    def tag(self, source, target):
        self.tags.append((source, target))
        self.images[target] = self.images.get(source)
