"""image_copy against real registries, podman and skopeo: transports, multi-arch, format conversion, idempotency, faults."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import socket
import tarfile
import threading

import pytest
import requests

from images import push, push_manifest_list
from registry_server import write_authfile
from tools import podman, run, secret_scan, skopeo_inspect

V2S2 = 'application/vnd.docker.distribution.manifest.v2+json'
OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'
OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
OCI_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip'
ACCEPT = ', '.join([OCI_MANIFEST, V2S2, OCI_INDEX, DOCKER_LIST])


@pytest.fixture
def no_auth(tmp_path):
    """An empty auth file, so no machine-wide auth.json is picked up."""
    return write_authfile(tmp_path / 'empty-auth.json', {})


def copy(run_module, src, dest, check=False, **args):
    args = dict(args, src=src, dest=dest)
    result = run_module('image_copy', args, check=check, diff=True)
    assert 'Traceback' not in json.dumps(result.result), result
    return result


def ok(result):
    assert not result.get('failed'), result
    return result


def head(reg, repo, ref, auth=None):
    resp = requests.head('%s/v2/%s/manifests/%s' % (reg.url, repo, ref), headers={'Accept': ACCEPT}, verify=reg.verify,
                         auth=auth, timeout=10)
    return resp.status_code, resp.headers.get('Docker-Content-Digest')


def raw_manifest(reg, repo, ref):
    resp = requests.get('%s/v2/%s/manifests/%s' % (reg.url, repo, ref), headers={'Accept': ACCEPT}, verify=reg.verify, timeout=10)
    resp.raise_for_status()
    return resp.json()


def podman_run(ref, *cmd, **kw):
    """Pull ``ref`` (with ``pull_args``), run ``cmd`` in it, remove the image again."""
    podman(*(['pull', '-q'] + list(kw.get('pull_args', ['--tls-verify=false'])) + [ref]))
    try:
        return podman('run', '--rm', '--pull=never', ref, *cmd).stdout
    finally:
        podman('rmi', '-f', ref, check=False)


@pytest.fixture(scope='module')
def src_images(images, tmp_path_factory):
    """One source registry (http) holding the app image (v2s2), the base image (oci) and the multi-arch list."""
    import registry_server
    reg = registry_server.start_registry(tmp_path_factory.mktemp('copy-src'))
    pushed = {
        'app': push(images.app, reg, 'src/app:1'),
        'base_oci': push(images.base, reg, 'src/base-oci:1', format='oci'),
        'list': push_manifest_list(images.manifest_list, reg, 'src/multi:1'),
    }
    yield reg, pushed
    reg.stop()


def test_registry_to_registry_four_steps_then_skopeo_and_podman(run_module, src_images, registry_tls_basic, tmp_path, no_auth):
    src_reg, pushed = src_images
    dst = registry_tls_basic
    src = 'docker://%s/src/app:1' % src_reg.host
    dest = 'docker://%s/copy/app:4steps' % dst.host
    args = dict(src_insecure=True, dest_username=dst.username, dest_password=dst.password, dest_ca_cert=dst.ca_cert,
                auth_file=no_auth)

    first = ok(copy(run_module, src, dest, check=True, **args))
    assert first['changed'] is True
    assert first['stats']['blobs_copied'] == 0 and first['stats']['bytes_transferred'] == 0
    assert first['diff']['before'] == 'absent\n' and first['diff']['after'] == pushed['app'].digest + '\n'
    assert head(dst, 'copy/app', '4steps', auth=dst.creds())[0] == 404

    second = ok(copy(run_module, src, dest, **args))
    assert second['changed'] is True
    assert second['src_digest'] == second['dest_digest'] == pushed['app'].digest
    assert second['manifest_type'] == V2S2
    assert second['stats']['blobs_copied'] == 4 and second['stats']['bytes_transferred'] > 2 * 1024 * 1024

    third = ok(copy(run_module, src, dest, check=True, **args))
    fourth = ok(copy(run_module, src, dest, **args))
    for result in (third, fourth):
        assert result['changed'] is False
        assert result['stats']['blobs_copied'] == 0 and result['stats']['bytes_transferred'] == 0
        assert result['diff']['before'] == result['diff']['after']
    # The no-change run is a manifest GET on the source and one HEAD on the destination (plus auth).
    assert fourth['stats']['requests']['dest'].get('PUT', 0) == 0 and fourth['stats']['requests']['dest'].get('PATCH', 0) == 0
    secret_scan([first, second, third, fourth], [dst.password])

    authfile = dst.write_authfile(tmp_path / 'auth.json')
    info = skopeo_inspect(dest, tls_verify=True, cert_dir=dst.cert_dir, authfile=authfile)
    assert info['Digest'] == pushed['app'].digest
    out = podman_run(dest[len('docker://'):], 'echo', 'copied-ok',
                     pull_args=['--tls-verify=true', '--cert-dir', dst.cert_dir, '--authfile', authfile])
    assert 'copied-ok' in out


def test_mount_within_one_registry(run_module, src_images, no_auth):
    src_reg, pushed = src_images
    result = ok(copy(run_module, 'docker://%s/src/app:1' % src_reg.host, 'docker://%s/mounted/app:1' % src_reg.host,
                     src_insecure=True, dest_insecure=True, auth_file=no_auth))
    assert result['changed'] and result['stats']['blobs_mounted'] == 4 and result['stats']['bytes_transferred'] == 0
    assert head(src_reg, 'mounted/app', '1')[1] == pushed['app'].digest
    # another tag of a repository that has the blobs: all skipped, only the manifest is written
    tagged = ok(copy(run_module, 'docker://%s/src/app:1' % src_reg.host, 'docker://%s/mounted/app:2' % src_reg.host,
                     src_insecure=True, dest_insecure=True, auth_file=no_auth))
    assert tagged['changed'] and tagged['stats']['blobs_skipped'] == 4 and tagged['stats']['blobs_copied'] == 0
    assert head(src_reg, 'mounted/app', '2')[1] == pushed['app'].digest


def test_token_registry_with_auth_file(run_module, src_images, registry_token, tmp_path):
    src_reg, pushed = src_images
    authfile = registry_token.write_authfile(tmp_path / 'auth.json')
    dest = 'docker://%s/authfile/base:1' % registry_token.host
    result = ok(copy(run_module, 'docker://%s/src/base-oci:1' % src_reg.host, dest, src_insecure=True, auth_file=authfile,
                     dest_ca_cert=registry_token.ca_cert))
    assert result['changed'] and result['dest_digest'] == pushed['base_oci'].digest
    info = skopeo_inspect(dest, tls_verify=True, cert_dir=registry_token.cert_dir, authfile=authfile)
    assert info['Digest'] == pushed['base_oci'].digest
    secret_scan(result, [registry_token.password])


def test_registry_to_oci_layout_to_registry(run_module, src_images, start_registry, tmp_path, no_auth):
    src_reg, pushed = src_images
    dst = start_registry()
    layout = str(tmp_path / 'layout')
    ok(copy(run_module, 'docker://%s/src/base-oci:1' % src_reg.host, 'oci:%s:v1' % layout, src_insecure=True, auth_file=no_auth))
    with open(os.path.join(layout, 'index.json')) as f:
        index = json.load(f)
    assert index['manifests'][0]['digest'] == pushed['base_oci'].digest
    assert index['manifests'][0]['annotations']['org.opencontainers.image.ref.name'] == 'v1'
    again = ok(copy(run_module, 'docker://%s/src/base-oci:1' % src_reg.host, 'oci:%s:v1' % layout, src_insecure=True,
                    auth_file=no_auth))
    assert again['changed'] is False

    # skopeo accepts the layout ...
    run(['skopeo', 'copy', '--dest-tls-verify=false', 'oci:%s:v1' % layout, 'docker://%s/by-skopeo/base:1' % dst.host])
    assert head(dst, 'by-skopeo/base', '1')[1] == pushed['base_oci'].digest
    # ... and so does image_copy, back into a registry with the same digest.
    back = ok(copy(run_module, 'oci:%s:v1' % layout, 'docker://%s/from-oci/base:1' % dst.host, dest_insecure=True,
                   auth_file=no_auth))
    assert back['changed'] and back['dest_digest'] == pushed['base_oci'].digest
    assert head(dst, 'from-oci/base', '1')[1] == pushed['base_oci'].digest


def test_docker_archive_loads_in_podman(run_module, src_images, tmp_path, no_auth):
    src_reg, pushed = src_images
    archive = str(tmp_path / 'app.tar')
    name = 'localhost/podkit-copy/archived:1'
    result = ok(copy(run_module, 'docker://%s/src/app:1' % src_reg.host, 'docker-archive:%s:%s' % (archive, name),
                     src_insecure=True, auth_file=no_auth))
    assert result['changed']
    again = ok(copy(run_module, 'docker://%s/src/app:1' % src_reg.host, 'docker-archive:%s:%s' % (archive, name),
                    src_insecure=True, auth_file=no_auth))
    assert again['changed'] is False and again['stats']['blobs_copied'] == 0
    podman('rmi', '-f', name, check=False)
    loaded = podman('load', '-i', archive).stdout
    assert name in loaded
    try:
        image_id = json.loads(podman('image', 'inspect', name).stdout)[0]['Id']
        assert 'sha256:' + image_id == result['dest_digest']
        assert 'archived-ok' in podman('run', '--rm', name, 'echo', 'archived-ok').stdout
    finally:
        podman('rmi', '-f', name, check=False)


def test_oci_archive_loads_in_podman_and_copies_back(run_module, src_images, start_registry, tmp_path, no_auth):
    src_reg, pushed = src_images
    archive = str(tmp_path / 'app-oci.tar')
    result = ok(copy(run_module, 'docker://%s/src/app:1' % src_reg.host, 'oci-archive:%s:app' % archive, src_insecure=True,
                     auth_file=no_auth))
    # An OCI layout holds OCI manifests: the v2s2 source is converted, as skopeo does.
    assert result['changed'] and result['manifest_type'] == OCI_MANIFEST and result['dest_digest'] != pushed['app'].digest
    with tarfile.open(archive) as tar:
        assert {'oci-layout', 'index.json'} <= set(tar.getnames())
    assert ok(copy(run_module, 'docker://%s/src/app:1' % src_reg.host, 'oci-archive:%s:app' % archive, src_insecure=True,
                   auth_file=no_auth))['changed'] is False
    loaded = podman('load', '-i', archive).stdout
    image = loaded.strip().splitlines()[-1].split(':', 1)[1].strip()
    try:
        assert 'ociarchive-ok' in podman('run', '--rm', image, 'echo', 'ociarchive-ok').stdout
    finally:
        podman('rmi', '-f', image, check=False)
    dst = start_registry()
    back = ok(copy(run_module, 'oci-archive:%s:app' % archive, 'docker://%s/back/app:1' % dst.host, dest_insecure=True,
                   auth_file=no_auth))
    assert head(dst, 'back/app', '1')[1] == result['dest_digest'] == back['dest_digest']


def test_multi_arch_all_and_system(run_module, src_images, start_registry, no_auth):
    src_reg, pushed = src_images
    dst = start_registry()
    src = 'docker://%s/src/multi:1' % src_reg.host
    source_index = raw_manifest(src_reg, 'src/multi', '1')
    result = ok(copy(run_module, src, 'docker://%s/all/multi:1' % dst.host, multi_arch='all', src_insecure=True,
                     dest_insecure=True, auth_file=no_auth))
    assert result['dest_digest'] == result['src_digest'] == pushed['list'].digest
    assert result['manifest_type'] == DOCKER_LIST and len(result['instances']) == 2
    assert head(dst, 'all/multi', '1')[1] == pushed['list'].digest
    for entry in source_index['manifests']:
        assert head(dst, 'all/multi', entry['digest'])[0] == 200
    assert ok(copy(run_module, src, 'docker://%s/all/multi:1' % dst.host, multi_arch='all', src_insecure=True,
                   dest_insecure=True, auth_file=no_auth))['changed'] is False

    arm = [e for e in source_index['manifests'] if e['platform']['architecture'] == 'arm64'][0]
    single = ok(copy(run_module, src, 'docker://%s/system/multi:1' % dst.host, platform='linux/arm64/v8', src_insecure=True,
                     dest_insecure=True, auth_file=no_auth))
    assert single['dest_digest'] == arm['digest'] and single['instances'] == [arm['digest']]
    assert raw_manifest(dst, 'system/multi', '1')['mediaType'] == V2S2
    amd = [e for e in source_index['manifests'] if e['platform']['architecture'] == 'amd64'][0]
    assert head(dst, 'system/multi', amd['digest'])[0] == 404


def test_format_oci_conversion_and_preserve_digests(run_module, src_images, start_registry, no_auth):
    src_reg, pushed = src_images
    dst = start_registry()
    src = 'docker://%s/src/app:1' % src_reg.host
    refused = copy(run_module, src, 'docker://%s/conv/app:keep' % dst.host, format='oci', preserve_digests=True,
                   src_insecure=True, dest_insecure=True, auth_file=no_auth)
    assert refused.get('failed') and 'preserve_digests' in refused['msg']
    assert dst.repositories() == []

    result = ok(copy(run_module, src, 'docker://%s/conv/app:oci' % dst.host, format='oci', src_insecure=True,
                     dest_insecure=True, auth_file=no_auth))
    assert result['manifest_type'] == OCI_MANIFEST and result['dest_digest'] != pushed['app'].digest
    raw = skopeo_inspect('%s/conv/app:oci' % dst.host, raw=True)
    assert raw['mediaType'] == OCI_MANIFEST and raw['config']['mediaType'] == OCI_CONFIG
    assert {layer['mediaType'] for layer in raw['layers']} == {OCI_GZIP}
    source = skopeo_inspect('%s/src/app:1' % src_reg.host, raw=True)
    assert [layer['digest'] for layer in raw['layers']] == [layer['digest'] for layer in source['layers']]
    assert 'converted-ok' in podman_run('%s/conv/app:oci' % dst.host, 'echo', 'converted-ok')
    assert ok(copy(run_module, src, 'docker://%s/conv/app:oci' % dst.host, format='oci', src_insecure=True,
                   dest_insecure=True, auth_file=no_auth))['changed'] is False


# --- faults -------------------------------------------------------------------------------------------------------

def test_dest_auth_failure_before_any_blob(run_module, src_images, registry_tls_basic, registry_token, no_auth):
    src_reg, dummy = src_images
    src = 'docker://%s/src/app:1' % src_reg.host
    wrong = copy(run_module, src, 'docker://%s/denied/app:1' % registry_tls_basic.host, src_insecure=True, auth_file=no_auth,
                 dest_username=registry_tls_basic.username, dest_password='not-the-password',
                 dest_ca_cert=registry_tls_basic.ca_cert)
    assert wrong.get('failed') and 'unauthorized' in wrong['msg'].lower()
    assert 'not-the-password' not in json.dumps(wrong.result)
    user, password = registry_token.creds(readonly=True)
    readonly = copy(run_module, src, 'docker://%s/denied/app:1' % registry_token.host, src_insecure=True, auth_file=no_auth,
                    dest_username=user, dest_password=password, dest_ca_cert=registry_token.ca_cert)
    assert readonly.get('failed'), readonly
    secret_scan(readonly, [password])
    for reg in (registry_tls_basic, registry_token):
        assert 'denied/app' not in reg.repositories()
        assert 'PATCH /v2/denied/app' not in reg.log()


def test_corrupt_source_blob_fails_without_manifest(run_module, images, start_registry, no_auth):
    src_reg = start_registry()
    dst = start_registry()
    pushed = push(images.app, src_reg, 'tamper/app:1')
    manifest = raw_manifest(src_reg, 'tamper/app', '1')
    big = max(manifest['layers'], key=lambda layer: layer['size'])
    hexdigest = big['digest'].partition(':')[2]
    data = os.path.join(src_reg.root, 'docker', 'registry', 'v2', 'blobs', 'sha256', hexdigest[:2], hexdigest, 'data')
    with open(data, 'r+b') as f:
        f.seek(big['size'] // 2)
        byte = f.read(1)
        f.seek(big['size'] // 2)
        f.write(bytes([byte[0] ^ 0xff]))
    result = copy(run_module, 'docker://%s' % pushed.ref, 'docker://%s/tamper/app:1' % dst.host, src_insecure=True,
                  dest_insecure=True, auth_file=no_auth)
    assert result.get('failed') and 'digest' in result['msg'], result
    assert head(dst, 'tamper/app', '1')[0] == 404
    assert head(dst, 'tamper/app', pushed.digest)[0] == 404


class CuttingProxy(object):
    """TCP proxy to ``upstream``; the first connection that relays ``cut_after`` bytes downstream is cut there."""

    def __init__(self, upstream_port, cut_after):
        self.upstream_port = upstream_port
        self.cut_after = cut_after
        self.cuts = 0
        self.lock = threading.Lock()
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(('127.0.0.1', 0))
        self.server.listen(32)
        self.port = self.server.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                client, dummy = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(('127.0.0.1', self.upstream_port))
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, src, dst, downstream):
        relayed = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if downstream:
                    with self.lock:
                        cut = self.cuts == 0 and relayed + len(data) >= self.cut_after
                        if cut:
                            self.cuts += 1
                    if cut:
                        dst.sendall(data[:max(0, self.cut_after - relayed)])
                        break
                relayed += len(data)
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def stop(self):
        self.stopped = True
        self.server.close()


def test_dropped_connection_resumes(run_module, src_images, start_registry, no_auth):
    src_reg, pushed = src_images
    dst = start_registry()
    proxy = CuttingProxy(src_reg.port, cut_after=1024 * 1024)
    try:
        result = ok(copy(run_module, 'docker://127.0.0.1:%d/src/app:1' % proxy.port, 'docker://%s/resumed/app:1' % dst.host,
                         src_insecure=True, dest_insecure=True, auth_file=no_auth, parallel=1))
    finally:
        proxy.stop()
    assert proxy.cuts == 1
    assert result['dest_digest'] == pushed['app'].digest
    assert head(dst, 'resumed/app', '1')[1] == pushed['app'].digest


@pytest.mark.parametrize('src,dest,expected', [
    ('ftp:/tmp/image', 'oci:/tmp/podkit-never', 'unknown transport'),
    ('oci:/nonexistent-podkit/layout:x', 'docker-archive:/proc/podkit-copy/x.tar:a/b:1', 'does not exist'),
    ('docker://127.0.0.1:1/src/app:1', 'docker-archive:/tmp/podkit-copy-untagged.tar:myimage', 'has no tag'),
])
def test_clear_messages(run_module, src, dest, expected):
    result = copy(run_module, src, dest)
    assert result.get('failed') and expected in result['msg'], result


def test_unwritable_archive_path(run_module, src_images, no_auth):
    src_reg, dummy = src_images
    result = copy(run_module, 'docker://%s/src/app:1' % src_reg.host, 'docker-archive:/proc/podkit-copy.tar:a/b:1',
                  src_insecure=True, auth_file=no_auth)
    assert result.get('failed') and 'cannot write' in result['msg'], result
    assert not os.path.exists('/proc/podkit-copy.tar')
