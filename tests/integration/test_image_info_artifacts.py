"""OCI artifacts (a Helm chart, a cosign signature) in a real docker-registry: image_info reports them, image_copy
copies them as they are, image_pull and container_state refuse them with a message that says what they are."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import gzip
import hashlib
import json
import uuid

import pytest
import requests

from images import push, push_blob
from registry_server import write_authfile
from tools import podman

OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
OCI_EMPTY = 'application/vnd.oci.empty.v1+json'
HELM_CONFIG = 'application/vnd.cncf.helm.config.v1+json'
HELM_CHART = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip'
COSIGN_SIG = 'application/vnd.dev.cosign.artifact.sig.v1+json'
COSIGN_PAYLOAD = 'application/vnd.dev.cosign.simplesigning.v1+json'
ACCEPT = ', '.join([OCI_MANIFEST, 'application/vnd.docker.distribution.manifest.v2+json'])


def _digest(data):
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def push_artifact(reg, repo, tag, config_type, config, layers, artifact_type=None, subject=None, annotations=None):
    """Push an OCI manifest with a non-image config (as helm push / cosign do) through the registry API."""
    def put_blob(data):
        return push_blob(reg, repo, data)

    manifest = {'schemaVersion': 2, 'mediaType': OCI_MANIFEST}
    if artifact_type:
        manifest['artifactType'] = artifact_type
    manifest['config'] = dict(put_blob(config), mediaType=config_type)
    manifest['layers'] = [dict(put_blob(data), mediaType=media_type, annotations={'org.opencontainers.image.title': title})
                          for media_type, title, data in layers]
    if subject:
        manifest['subject'] = subject
    if annotations:
        manifest['annotations'] = annotations
    raw = json.dumps(manifest).encode()
    resp = requests.put('%s/v2/%s/manifests/%s' % (reg.url, repo, tag), data=raw, headers={'Content-Type': OCI_MANIFEST},
                        timeout=10)
    resp.raise_for_status()
    return '%s/%s:%s' % (reg.host, repo, tag), _digest(raw), manifest


@pytest.fixture
def artifacts(images, start_registry, tmp_path):
    reg = start_registry()
    chart = push_artifact(reg, 'charts/mychart', '0.1.0', HELM_CONFIG, b'{"name":"mychart","version":"0.1.0","apiVersion":"v2"}',
                          [(HELM_CHART, 'mychart-0.1.0.tgz', gzip.compress(b'mychart/Chart.yaml', mtime=0))],
                          annotations={'org.opencontainers.image.title': 'mychart'})
    image = push(images.base, reg, 'apps/base:1', format='oci')
    subject = {'mediaType': OCI_MANIFEST, 'digest': image.digest, 'size': len(requests.get(
        '%s/v2/apps/base/manifests/1' % reg.url, headers={'Accept': ACCEPT}, timeout=10).content)}
    signature = push_artifact(reg, 'apps/base', 'sha256-%s.sig' % image.digest.partition(':')[2], OCI_EMPTY, b'{}',
                              [(COSIGN_PAYLOAD, 'payload', b'{"critical":{"image":{"docker-manifest-digest":"%s"}}}'
                                % image.digest.encode())], artifact_type=COSIGN_SIG, subject=subject)
    return reg, chart, signature, image, write_authfile(tmp_path / 'empty-auth.json', {})


def _ok(result):
    assert not result.get('failed'), result
    assert 'Traceback' not in json.dumps(result.result)
    return result


def test_image_info_reports_artifacts(run_module, artifacts):
    reg, chart, signature, image, no_auth = artifacts
    info = _ok(run_module('image_info', dict(name=chart[0], insecure=True, auth_file=no_auth, raw=True)))
    assert info['artifact'] is True and info['artifact_type'] == HELM_CONFIG == info['config_media_type']
    assert info['digest'] == info['manifest_digest'] == chart[1]
    assert info['annotations'] == {'org.opencontainers.image.title': 'mychart'}
    assert [(layer['media_type'], layer['annotations']) for layer in info['layers_data']] == [
        (HELM_CHART, {'org.opencontainers.image.title': 'mychart-0.1.0.tgz'})]
    assert info['layers'] == [chart[2]['layers'][0]['digest']] and info['repo_tags'] == ['0.1.0']
    assert info['architecture'] is None and info['os'] is None and info['manifest'] == chart[2]

    sig = _ok(run_module('image_info', dict(name=signature[0], insecure=True, auth_file=no_auth)))
    assert sig['artifact'] is True and sig['artifact_type'] == COSIGN_SIG and sig['config_media_type'] == OCI_EMPTY
    assert sig['subject'] == image.digest
    assert [layer['media_type'] for layer in sig['layers_data']] == [COSIGN_PAYLOAD]

    # an image stays an image
    plain = _ok(run_module('image_info', dict(name=image.ref, insecure=True, auth_file=no_auth)))
    assert plain['artifact'] is False and plain['architecture'] == 'amd64' and 'artifact_type' not in plain.result


def test_image_copy_copies_artifacts_as_they_are(run_module, artifacts, start_registry, tmp_path):
    reg, chart, signature, image, no_auth = artifacts
    dst = start_registry()
    args = dict(src='docker://' + chart[0], dest='docker://%s/mirror/mychart:0.1.0' % dst.host, src_insecure=True,
                dest_insecure=True, auth_file=no_auth)
    check = _ok(run_module('image_copy', args, check=True, diff=True))
    assert check['changed'] is True and check['dest_digest'] == chart[1] and check['diff']['before'] == 'absent\n'
    assert dst.repositories() == []
    apply = _ok(run_module('image_copy', args, diff=True))
    assert apply['changed'] is True and apply['dest_digest'] == apply['src_digest'] == chart[1]
    assert apply['manifest_type'] == OCI_MANIFEST
    served = requests.get('%s/v2/mirror/mychart/manifests/0.1.0' % dst.url, headers={'Accept': ACCEPT}, timeout=10)
    assert _digest(served.content) == chart[1]
    for blob in [chart[2]['config']] + chart[2]['layers']:
        assert requests.head('%s/v2/mirror/mychart/blobs/%s' % (dst.url, blob['digest']), timeout=10).status_code == 200
    assert _ok(run_module('image_copy', args, check=True))['changed'] is False
    assert _ok(run_module('image_copy', args))['changed'] is False

    # the signature, with its subject, into an OCI layout
    layout = tmp_path / 'sigs'
    sig_args = dict(src='docker://' + signature[0], dest='oci:%s:sig' % layout, src_insecure=True, auth_file=no_auth)
    copied = _ok(run_module('image_copy', sig_args))
    assert copied['dest_digest'] == signature[1]
    with open(str(layout / 'blobs' / 'sha256' / signature[1].partition(':')[2]), 'rb') as f:
        assert json.loads(f.read().decode())['subject']['digest'] == image.digest

    # converting an artifact to Docker v2s2 would lose what it is
    refused = run_module('image_copy', dict(args, dest='docker://%s/mirror/mychart:v2s2' % dst.host, format='v2s2'))
    assert refused.get('failed') and 'is an artifact (config media type %s)' % HELM_CONFIG in refused['msg'], refused
    assert 'Traceback' not in json.dumps(refused.result)


def test_image_pull_and_container_state_refuse_artifacts(run_module, artifacts):
    reg, chart, signature, image, no_auth = artifacts
    for check in (True, False):
        result = run_module('image_pull', dict(name=chart[0], insecure=True, auth_file=no_auth), check=check)
        assert result.get('failed') and result['changed'] is False, result
        assert result['msg'] == ('%s is an OCI artifact (%s), not a container image: podman cannot store or run it; copy it '
                                 'with podkit.containers.image_copy, or name an image' % (chart[0], HELM_CONFIG))
    assert podman('image', 'exists', chart[0], check=False).returncode != 0

    name = 'podkit-artifact-%s' % uuid.uuid4().hex[:8]
    try:
        result = run_module('container_state', dict(name=name, image=signature[0], command=['sleep', '60'],
                                                    network=['none'], insecure=True, auth_file=no_auth))
        assert result.get('failed'), result
        assert 'is an OCI artifact (%s), not a container image' % COSIGN_SIG in result['msg'], result
        assert podman('container', 'exists', name, check=False).returncode != 0
    finally:
        podman('rm', '-f', name, check=False)
