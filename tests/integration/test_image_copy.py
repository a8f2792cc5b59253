"""image_copy against real registries, podman and skopeo: transports, multi-arch, format conversion, idempotency, faults."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import io
import json
import os
import shutil
import signal
import socket
import tarfile
import threading
import time

import pytest
import requests

from ansible_runner import process_tree, start_module
from http_proxy import FaultProxy
import fault_proxy
from images import push, push_manifest_list
from registry_server import write_authfile, write_registries_conf
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


@pytest.mark.parametrize('side', ['src', 'dest'])
def test_blocked_registry_is_neither_read_nor_written(run_module, images, src_images, start_registry, tmp_path, no_auth,
                                                      side):
    src_reg, dummy = src_images
    dst = start_registry()
    blocked = src_reg if side == 'src' else dst
    conf = write_registries_conf(tmp_path / 'registries.conf', registries=[{'location': blocked.host, 'blocked': True}])
    src = 'docker://%s/src/app:1' % src_reg.host
    dest = 'docker://%s/blocked/app:1' % dst.host
    for check in (True, False):
        result = copy(run_module, src, dest, check=check, src_insecure=True, dest_insecure=True, auth_file=no_auth,
                      registries_conf=conf)
        assert result.get('failed'), result
        assert 'registry %s is blocked in registries.conf' % blocked.host in result['msg'] and conf in result['msg'], result
    assert dst.repositories() == []
    # podman refuses the same way, pulls and pushes alike (containers/image checks every registry it talks to).
    argv = (['pull', '--tls-verify=false', src[len('docker://'):]] if side == 'src'
            else ['push', '--tls-verify=false', images.app, dest])
    proc = podman(*argv, check=False, env=dict(CONTAINERS_REGISTRIES_CONF=conf))
    assert proc.returncode != 0 and 'is blocked in %s' % conf in proc.stderr, proc.stderr
    assert dst.repositories() == []


# --- nothing left behind ------------------------------------------------------------------------------------------

def _leftovers(*directories):
    """Temp files and staging directories (ours are named .tmp-*, .<archive>.tmp-*, .<archive>.stage-*) under the dirs."""
    found = []
    for directory in directories:
        for dirpath, dirnames, filenames in os.walk(directory):
            found.extend(os.path.join(dirpath, n) for n in dirnames + filenames if '.tmp-' in n or '.stage-' in n)
    return found


def _wait_for(predicate, proc, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = predicate()
        if found:
            return found
        assert proc.poll() is None, 'the module ended before it was killed: %s' % (proc.communicate(),)
        time.sleep(0.05)
    raise AssertionError('nothing appeared in %ss' % timeout)


@pytest.mark.parametrize('transport', ['oci', 'docker-archive', 'oci-archive', 'dir'])
def test_killed_copy_leaves_nothing_after_the_next_run(src_images, run_module, tmp_path, no_auth, transport):
    src_reg, pushed = src_images
    target = str(tmp_path / 'out' / ('image.tar' if 'archive' in transport else 'image'))
    os.makedirs(os.path.dirname(target))
    dest = '%s:%s' % (transport, target) + (':localhost/killed/app:1' if transport == 'docker-archive' else
                                            ':app' if transport != 'dir' else '')
    args = dict(dest=dest, src_insecure=True, auth_file=no_auth, parallel=1)
    big = max(raw_manifest(src_reg, 'src/app', '1')['layers'], key=lambda layer: layer['size'])
    # The source stalls half way through the big layer: the module is killed with its blob half written.
    with FaultProxy(src_reg.port, stall_after=lambda method, path: big['size'] // 2 if big['digest'] in path else None) as proxy:
        proc = start_module('image_copy', dict(args, src='docker://%s/src/app:1' % proxy.host))
        try:
            def half_written():
                return [p for p in _leftovers(os.path.dirname(target)) if os.path.isfile(p) and os.path.getsize(p) > 0]
            _wait_for(lambda: ('GET', '/v2/src/app/blobs/' + big['digest'], 'stalled') in proxy.requests and half_written(),
                      proc)
        finally:
            for pid in reversed(process_tree(proc.pid)):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            proc.communicate()
    assert _leftovers(os.path.dirname(target)), 'the killed run left nothing to clean up: the test proves nothing'
    result = ok(copy(run_module, 'docker://%s/src/app:1' % src_reg.host, **args))
    assert result['changed'] is True
    assert _leftovers(os.path.dirname(target)) == []
    again = ok(copy(run_module, 'docker://%s/src/app:1' % src_reg.host, **args))
    assert again['changed'] is False and _leftovers(os.path.dirname(target)) == []


@pytest.mark.parametrize('transport', ['oci', 'dir'])
def test_failed_copy_into_a_new_directory_removes_it(images, start_registry, run_module, tmp_path, no_auth, transport):
    src_reg = start_registry()
    pushed = push(images.app, src_reg, 'broken/app:1')
    manifest = raw_manifest(src_reg, 'broken/app', '1')
    # The last layer is gone from the registry's storage: the config and the first layers are written first.
    victim = manifest['layers'][-1]['digest'].partition(':')[2]
    shutil.rmtree(os.path.join(src_reg.root, 'docker', 'registry', 'v2', 'blobs', 'sha256', victim[:2], victim))
    parent = tmp_path / 'new'
    result = copy(run_module, 'docker://%s' % pushed.ref, '%s:%s' % (transport, parent / 'layout'), src_insecure=True,
                  auth_file=no_auth, parallel=1)
    assert result.get('failed') and 'not found' in result['msg'], result
    assert not parent.exists(), sorted(str(p) for p in parent.rglob('*'))


def test_lost_manifest_put_response_is_checked_with_a_head(src_images, start_registry, run_module, no_auth):
    src_reg, pushed = src_images
    dst = start_registry()
    with FaultProxy(dst.port, drop_response=lambda method, path: method == 'PUT' and '/manifests/' in path) as proxy:
        dest = 'docker://%s/lost/app:1' % proxy.host
        result = ok(copy(run_module, 'docker://%s/src/app:1' % src_reg.host, dest, src_insecure=True,
                         dest_insecure=True, auth_file=no_auth))
        assert [r for r in proxy.requests if r[2] == 'dropped'], proxy.requests
        assert result['changed'] is True and result['dest_digest'] == pushed['app'].digest
        assert head(dst, 'lost/app', '1')[1] == pushed['app'].digest
        assert ok(copy(run_module, 'docker://%s/src/app:1' % src_reg.host, dest, src_insecure=True, dest_insecure=True,
                       auth_file=no_auth))['changed'] is False
    # The image is complete: skopeo reads every blob of it.
    run(['skopeo', 'copy', '--src-tls-verify=false', 'docker://%s/lost/app:1' % dst.host, 'dir:%s' % (dst.workdir + '/check')])


# --- foreign layers -----------------------------------------------------------------------------------------------

DOCKER_FOREIGN = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip'
OCI_NONDIST_GZIP = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip'


class LayerServer(object):
    """A plain http server on 127.0.0.1 serving ``blobs`` ({path: bytes}) and recording each request's headers."""

    def __init__(self, blobs):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        self.seen = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.seen.append((self.path, dict(self.headers.items())))
                data = blobs.get(self.path)
                self.send_response(200 if data is not None else 404)
                self.send_header('Content-Length', str(len(data or b'')))
                self.end_headers()
                self.wfile.write(data or b'')

        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d' % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _tar_gz(name, content):
    import gzip
    import io
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tar:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(content))
    raw = buf.getvalue()
    return raw, gzip.compress(raw, mtime=0)


def _sha(data):
    import hashlib
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def _push_blob(reg, repo, data, auth):
    start = requests.post('%s/v2/%s/blobs/uploads/' % (reg.url, repo), auth=auth, verify=reg.verify, timeout=30)
    assert start.status_code == 202, start.text
    location = requests.compat.urljoin(reg.url, start.headers['Location'])
    done = requests.put(location, params={'digest': _sha(data)}, data=data, auth=auth, verify=reg.verify, timeout=30,
                        headers={'Content-Type': 'application/octet-stream'})
    assert done.status_code == 201, done.text


# distribution refuses every manifest with URLs unless validation.manifests.urls.allow matches them (registries that
# serve Windows images allow their CDN's).
ALLOW_URLS = {'validation': {'manifests': {'urls': {'allow': [r'^http://127\.0\.0\.1:[0-9]+/layers/']}}}}


@pytest.fixture
def foreign_image(start_registry):
    """An image on a Basic-auth registry whose second layer is foreign: only its URL (a LayerServer) holds it."""
    reg = start_registry(auth='basic', extra_config=ALLOW_URLS)
    auth = reg.creds()
    base_tar, base_gz = _tar_gz('base.txt', b'a distributable layer\n')
    foreign_tar, foreign_gz = _tar_gz('foreign.txt', os.urandom(300 * 1024))
    server = LayerServer({'/layers/' + _sha(foreign_gz): foreign_gz})
    config = json.dumps({'architecture': 'amd64', 'os': 'linux', 'config': {},
                         'rootfs': {'type': 'layers', 'diff_ids': [_sha(base_tar), _sha(foreign_tar)]}}).encode()
    repo = 'foreign/app'
    _push_blob(reg, repo, config, auth)
    _push_blob(reg, repo, base_gz, auth)
    manifest = json.dumps({
        'schemaVersion': 2, 'mediaType': V2S2,
        'config': {'mediaType': 'application/vnd.docker.container.image.v1+json', 'size': len(config), 'digest': _sha(config)},
        'layers': [{'mediaType': 'application/vnd.docker.image.rootfs.diff.tar.gzip', 'size': len(base_gz), 'digest': _sha(base_gz)},
                   {'mediaType': DOCKER_FOREIGN, 'size': len(foreign_gz), 'digest': _sha(foreign_gz),
                    'urls': [server.url + '/layers/' + _sha(foreign_gz)]}],
    }, indent=3).encode()
    put = requests.put('%s/v2/%s/manifests/1' % (reg.url, repo), data=manifest, auth=auth, verify=reg.verify, timeout=30,
                       headers={'Content-Type': V2S2})
    assert put.status_code == 201, put.text
    yield dict(reg=reg, ref='docker://%s/%s:1' % (reg.host, repo), manifest=manifest, digest=_sha(manifest),
               foreign=_sha(foreign_gz), foreign_tar=foreign_tar, server=server)
    server.stop()


def _src_args(image, no_auth):
    reg = image['reg']
    return dict(src_username=reg.username, src_password=reg.password, src_ca_cert=reg.ca_cert, auth_file=no_auth)


def test_foreign_layer_stays_a_reference_for_registries_and_oci_layouts(run_module, foreign_image, start_registry,
                                                                        tmp_path, no_auth):
    dst = start_registry(extra_config=ALLOW_URLS)
    dest = 'docker://%s/kept/app:1' % dst.host
    args = dict(_src_args(foreign_image, no_auth), dest_insecure=True)
    first = ok(copy(run_module, foreign_image['ref'], dest, **args))
    assert first['changed'] and first['dest_digest'] == foreign_image['digest']
    assert first['stats']['blobs_foreign'] == 1 and first['stats']['blobs_copied'] == 2
    resp = requests.get('%s/v2/kept/app/manifests/1' % dst.url, headers={'Accept': V2S2}, timeout=10)
    assert resp.content == foreign_image['manifest']
    assert requests.head('%s/v2/kept/app/blobs/%s' % (dst.url, foreign_image['foreign']), timeout=10).status_code == 404
    assert ok(copy(run_module, foreign_image['ref'], dest, **args))['changed'] is False

    layout = tmp_path / 'layout'
    oci = ok(copy(run_module, foreign_image['ref'], 'oci:%s:app' % layout, **_src_args(foreign_image, no_auth)))
    assert oci['changed'] and oci['stats']['blobs_foreign'] == 1
    index = json.loads((layout / 'index.json').read_text())
    manifest = json.loads((layout / 'blobs' / 'sha256' / index['manifests'][0]['digest'].partition(':')[2]).read_text())
    assert manifest['layers'][1]['mediaType'] == OCI_NONDIST_GZIP and manifest['layers'][1]['urls']
    assert not (layout / 'blobs' / 'sha256' / foreign_image['foreign'].partition(':')[2]).exists()
    # as skopeo: nothing fetched the foreign layer for these destinations
    assert foreign_image['server'].seen == []
    # ... and the layout copies on to a registry from there, the reference still a reference
    back = ok(copy(run_module, 'oci:%s:app' % layout, 'docker://%s/kept/from-oci:1' % dst.host, dest_insecure=True,
                   auth_file=no_auth))
    assert back['dest_digest'] == oci['dest_digest'] and back['stats']['blobs_foreign'] == 1


def test_foreign_layer_is_fetched_without_credentials_for_dir_and_docker_archive(run_module, foreign_image, tmp_path, no_auth):
    reg = foreign_image['reg']
    hexdigest = foreign_image['foreign'].partition(':')[2]
    directory = tmp_path / 'dir'
    result = ok(copy(run_module, foreign_image['ref'], 'dir:%s' % directory, **_src_args(foreign_image, no_auth)))
    assert result['changed'] and result['stats']['blobs_foreign'] == 0 and result['stats']['blobs_copied'] == 3
    assert _sha((directory / hexdigest).read_bytes()) == foreign_image['foreign']
    assert (directory / 'manifest.json').read_bytes() == foreign_image['manifest']
    archive = tmp_path / 'app.tar'
    ok(copy(run_module, foreign_image['ref'], 'docker-archive:%s:localhost/foreign/app:1' % archive,
            **_src_args(foreign_image, no_auth)))
    with tarfile.open(str(archive)) as tar:
        assert tar.extractfile(_sha(foreign_image['foreign_tar']).partition(':')[2] + '.tar').read() == foreign_image['foreign_tar']
    seen = foreign_image['server'].seen
    assert [path for path, dummy in seen] == ['/layers/' + foreign_image['foreign']] * 2
    for dummy, headers in seen:
        assert 'authorization' not in [k.lower() for k in headers], headers
    secret_scan([result], [reg.password])
    assert reg.password not in json.dumps(seen)
    # skopeo writes the same dir: (it fetches from the URL too)
    authfile = reg.write_authfile(tmp_path / 'auth.json')
    run(['skopeo', 'copy', '--src-cert-dir', reg.cert_dir, '--authfile', authfile, foreign_image['ref'],
         'dir:%s' % (tmp_path / 'by-skopeo')])
    assert (tmp_path / 'by-skopeo' / 'manifest.json').read_bytes() == foreign_image['manifest']
    assert (tmp_path / 'by-skopeo' / hexdigest).read_bytes() == (directory / hexdigest).read_bytes()


@pytest.mark.parametrize('text, expected', [
    ('[[registry]]\nlocation = "x.example"\ninsecure = tru\n', 'is not valid TOML at line 3, column 12'),
    ('a = ' + '[' * 400000, 'is nested deeper than 64 levels; refusing to parse it'),
    ('[[registry]]\nlocation = 5\n', 'registry location must be a string'),
])
def test_broken_registries_conf_fails_instead_of_being_ignored(run_module, src_images, tmp_path, no_auth, text, expected):
    src_reg, dummy = src_images
    conf = tmp_path / 'registries.conf'
    conf.write_text(text)
    layout = str(tmp_path / 'layout')
    # src_insecure is not given, so the copy asks registries.conf whether the source registry is insecure.
    result = copy(run_module, 'docker://%s/src/app:1' % src_reg.host, 'oci:%s:x' % layout, registries_conf=str(conf),
                  auth_file=no_auth)
    assert result.get('failed') and str(conf) in result['msg'] and expected in result['msg'], result
    assert '\n' not in result['msg'] and not os.path.exists(layout)


def _rewrite_member(archive, name, change):
    """Rewrite member ``name`` of the tar ``archive`` with ``change(bytes) -> bytes`` (docker save writes what podman
    save does not: short RepoTags)."""
    with tarfile.open(archive) as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]
    with tarfile.open(archive, 'w') as tar:
        for member, data in members:
            if member.name == name:
                data = change(data)
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data) if data is not None else None)


def test_docker_archive_with_docker_short_repo_tags(run_module, src_images, tmp_path, no_auth):
    src_reg, pushed = src_images
    archive = str(tmp_path / 'saved.tar')
    ok(copy(run_module, 'docker://%s/src/app:1' % src_reg.host, 'docker-archive:%s:localhost/x/app:1' % archive,
            src_insecure=True, auth_file=no_auth))

    def short_tags(data):
        items = json.loads(data.decode('utf-8'))
        items[0]['RepoTags'] = ['myorg/app:1', 'busybox:latest']
        return json.dumps(items).encode('utf-8')
    _rewrite_member(archive, 'manifest.json', short_tags)
    digests = set()
    for name in ('myorg/app:1', 'docker.io/myorg/app:1', 'busybox:latest', 'docker.io/library/busybox:latest'):
        layout = str(tmp_path / ('layout-' + name.replace('/', '_').replace(':', '_')))
        result = ok(copy(run_module, 'docker-archive:%s:%s' % (archive, name), 'oci:%s:app' % layout, auth_file=no_auth))
        assert result['changed']
        digests.add(result['dest_digest'])
    assert len(digests) == 1
    missing = copy(run_module, 'docker-archive:%s:quay.io/myorg/app:1' % archive, 'oci:%s:app' % (tmp_path / 'none'),
                   auth_file=no_auth)
    assert missing.get('failed') and 'no such image in the archive (it holds myorg/app:1, busybox:latest)' in missing['msg']


@pytest.mark.parametrize('index, expected', [
    ('{"schemaVersion": 2, "manifests": "x"}', '$.manifests must be a list of objects'),
    ('{"schemaVersion": 2, "manifests": ["a", "b"]}', '$.manifests[0] must be an object with digest: a string, not a string'),
    ('{"schemaVersion": 2, "manifests": [{"digest": "sha256:%s", "annotations": []}]}' % ('a' * 64),
     '$.manifests[0].annotations must be an object of strings, not a list'),
    ('[' * 400000, 'is nested deeper than 64 levels'),
])
def test_hostile_oci_layout_fails_with_a_message(run_module, tmp_path, no_auth, index, expected):
    layout = tmp_path / 'hostile'
    (layout / 'blobs' / 'sha256').mkdir(parents=True)
    (layout / 'oci-layout').write_text('{"imageLayoutVersion":"1.0.0"}')
    (layout / 'index.json').write_text(index)
    result = copy(run_module, 'oci:%s' % layout, 'oci:%s:x' % (tmp_path / 'out'), auth_file=no_auth)
    assert result.get('failed') and 'index.json of oci:%s' % layout in result['msg'] and expected in result['msg'], result
    assert not os.path.exists(str(tmp_path / 'out'))


def test_registry_rejecting_verified_bytes_is_not_called_a_content_mismatch(src_images, start_registry, run_module, no_auth):
    """The source verified every byte; the registry judges other bytes (here a proxy flips one in transit)."""
    src_reg, pushed = src_images
    dst = start_registry()

    def flip_a_byte(method, path, body):
        if method == 'PUT' and '/blobs/uploads/' in path and body:
            return body[:-1] + bytes([body[-1] ^ 0xff])
        return body

    with FaultProxy(dst.port, alter_request=flip_a_byte) as proxy:
        result = copy(run_module, 'docker://%s/src/app:1' % src_reg.host, 'docker://%s/altered/app:1' % proxy.host,
                      src_insecure=True, dest_insecure=True, auth_file=no_auth, retries=0)
    assert result.get('failed'), result
    assert 'does not match its digest or size' not in result['msg'], result
    assert 'verified against that digest and size on the way' in result['msg'] and 'run the copy again' in result['msg']
    assert result.get('error_codes') == ['DIGEST_INVALID'], result
    assert head(dst, 'altered/app', '1')[0] == 404


# -- registries that work with skopeo and not by the book: a misbehaving proxy in front of a real registry ------

@pytest.mark.parametrize('refusal', [400, 415])
def test_chunked_upload_when_the_monolithic_put_is_refused(run_module, src_images, start_registry, no_auth, refusal):
    """Older Pulp (behind Satellite) answers 400 or 415 to a PUT with a body: POST, PATCH chunks, PUT instead."""
    src_reg, pushed = src_images
    dst = start_registry()
    with fault_proxy.FaultProxy(dst) as proxy:
        proxy.add('status', method='PUT', path=fault_proxy.UPLOAD, times=None, body=True, status=refusal)
        src = 'docker://%s/src/app:1' % src_reg.host
        dest = 'docker://%s/chunked/app:1' % proxy.host
        # One blob at a time: the first refusal teaches the client, the other blobs go straight to chunks.
        args = dict(src_insecure=True, dest_insecure=True, auth_file=no_auth, parallel=1)
        check = ok(copy(run_module, src, dest, check=True, **args))
        assert check['changed'] is True and head(dst, 'chunked/app', '1')[0] == 404
        apply = ok(copy(run_module, src, dest, **args))
        assert apply['changed'] is True and apply['dest_digest'] == pushed['app'].digest
        refused = [entry for entry in proxy.log if entry[0] == 'PUT' and entry[2] == 'status']
        assert len(refused) == 1, proxy.log  # one refusal, then the client stays with chunks
        assert len([entry for entry in proxy.log if entry[0] == 'PATCH' and entry[2] is None]) >= 4, proxy.log
        for result in (ok(copy(run_module, src, dest, check=True, **args)), ok(copy(run_module, src, dest, **args))):
            assert result['changed'] is False and result['stats']['blobs_copied'] == 0
    # What the real registry holds is the image, byte for byte.
    assert head(dst, 'chunked/app', '1')[1] == pushed['app'].digest
    assert skopeo_inspect('%s/chunked/app:1' % dst.host, tls_verify=False)['Digest'] == pushed['app'].digest


def test_manifest_head_404_falls_back_to_get_and_copies_stay_idempotent(run_module, src_images, start_registry, no_auth):
    """Older Harbor proxy caches answer 404 to a manifest HEAD for a manifest they serve to GET."""
    src_reg, pushed = src_images
    dst = start_registry()
    with fault_proxy.FaultProxy(dst) as proxy:
        proxy.add('status', method='HEAD', path=fault_proxy.MANIFEST, times=None, status=404)
        src = 'docker://%s/src/app:1' % src_reg.host
        dest = 'docker://%s/harbor/app:1' % proxy.host
        args = dict(src_insecure=True, dest_insecure=True, auth_file=no_auth)
        assert ok(copy(run_module, src, dest, check=True, **args))['changed'] is True
        assert ok(copy(run_module, src, dest, **args))['changed'] is True
        for check in (True, False):
            again = ok(copy(run_module, src, dest, check=check, **args))
            assert again['changed'] is False and again['stats']['blobs_copied'] == 0, again
            assert again['diff']['before'] == again['diff']['after']
        assert any(entry[0] == 'HEAD' and entry[2] == 'status' for entry in proxy.log)
        assert any(entry[0] == 'GET' and '/manifests/' in entry[1] for entry in proxy.log)
    assert head(dst, 'harbor/app', '1')[1] == pushed['app'].digest
