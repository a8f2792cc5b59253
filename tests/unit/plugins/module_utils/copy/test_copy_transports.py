# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Local transports end to end (real files in tmp_path): oci, oci-archive, docker-archive, dir, through the engine."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gzip
import hashlib
import io
import json
import os
import tarfile

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.copy import engine, transports
from ansible_collections.podkit.containers.plugins.module_utils.errors import (
    ConfigError,
    DigestMismatchError,
    ImageStoreError,
    InvalidReferenceError,
    NotFoundError,
)
from ansible_collections.podkit.containers.plugins.module_utils.registry import manifest as mf
from ansible_collections.podkit.containers.plugins.module_utils.options import RegistryOptions


def sha(data):
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def layer_tar(name, content):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tar:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def put_blob(layout, data):
    digest = sha(data)
    path = os.path.join(layout, 'blobs', 'sha256', digest.partition(':')[2])
    with open(path, 'wb') as f:
        f.write(data)
    return digest


def make_image(layout, arch='amd64', media='docker', marker=b'x'):
    """Write a 2-layer image's blobs into ``layout``; returns (manifest bytes, media type)."""
    os.makedirs(os.path.join(layout, 'blobs', 'sha256'), exist_ok=True)
    tars = [layer_tar('a.txt', b'hello ' + marker), layer_tar('b.txt', os.urandom(1000) + marker)]
    gz = [gzip.compress(t, mtime=0) for t in tars]
    config = json.dumps({'architecture': arch, 'os': 'linux',
                         'rootfs': {'type': 'layers', 'diff_ids': [sha(t) for t in tars]}}).encode()
    config_digest = put_blob(layout, config)
    layers = [{'mediaType': mf.DOCKER_LAYER if media == 'docker' else mf.OCI_LAYER_GZIP, 'size': len(g), 'digest': put_blob(layout, g)}
              for g in gz]
    media_type = mf.DOCKER_MANIFEST if media == 'docker' else mf.OCI_MANIFEST
    manifest = json.dumps({'schemaVersion': 2, 'mediaType': media_type,
                           'config': {'mediaType': mf.DOCKER_CONFIG if media == 'docker' else mf.OCI_CONFIG,
                                      'size': len(config), 'digest': config_digest},
                           'layers': layers}).encode()
    put_blob(layout, manifest)
    return manifest, media_type


def write_index(layout, entries):
    with open(os.path.join(layout, 'index.json'), 'w') as f:
        json.dump({'schemaVersion': 2, 'manifests': entries}, f)
    with open(os.path.join(layout, 'oci-layout'), 'w') as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')


@pytest.fixture
def layout(tmp_path):
    """An OCI layout with a single OCI image named v1 and a two-platform index named multi."""
    root = str(tmp_path / 'src')
    raw, media_type = make_image(root, media='oci')
    amd, amd_type = make_image(root, 'amd64', media='oci', marker=b'amd')
    arm, arm_type = make_image(root, 'arm64', media='oci', marker=b'arm')
    index = json.dumps({'schemaVersion': 2, 'mediaType': mf.OCI_INDEX, 'manifests': [
        {'mediaType': amd_type, 'digest': sha(amd), 'size': len(amd), 'platform': {'os': 'linux', 'architecture': 'amd64'}},
        {'mediaType': arm_type, 'digest': sha(arm), 'size': len(arm),
         'platform': {'os': 'linux', 'architecture': 'arm64', 'variant': 'v8'}}]}).encode()
    put_blob(root, index)
    write_index(root, [
        {'mediaType': media_type, 'digest': sha(raw), 'size': len(raw), 'annotations': {transports.REF_NAME: 'v1'}},
        {'mediaType': mf.OCI_INDEX, 'digest': sha(index), 'size': len(index), 'annotations': {transports.REF_NAME: 'multi'}},
    ])
    return {'root': root, 'v1': sha(raw), 'multi': sha(index), 'amd': sha(amd), 'arm': sha(arm)}


def run(src, dest, **kw):
    return engine.copy_image(src, dest, RegistryOptions(), RegistryOptions(), **kw)


def test_oci_to_oci_four_steps(layout, tmp_path):
    dest = 'oci:%s:copy' % (tmp_path / 'dest')
    src = 'oci:%s:v1' % layout['root']
    first = run(src, dest, check_mode=True)
    assert first['changed'] and first['stats']['blobs_copied'] == 0 and not os.path.exists(str(tmp_path / 'dest'))
    second = run(src, dest)
    assert second['changed'] and second['dest_digest'] == layout['v1'] and second['stats']['blobs_copied'] == 3
    third = run(src, dest, check_mode=True)
    fourth = run(src, dest)
    assert not third['changed'] and not fourth['changed'] and fourth['stats']['blobs_copied'] == 0
    assert fourth['diff']['before'] == fourth['diff']['after'] == layout['v1'] + '\n'
    forced = run(src, dest, force=True)
    assert forced['changed'] and forced['stats']['blobs_skipped'] == 3 and forced['stats']['blobs_copied'] == 0
    with open(str(tmp_path / 'dest' / 'index.json')) as f:
        assert len(json.load(f)['manifests']) == 1


def test_round_trip_through_every_local_transport(layout, tmp_path):
    src = 'oci:%s:v1' % layout['root']
    run(src, 'dir:%s' % (tmp_path / 'dir'))
    run('dir:%s' % (tmp_path / 'dir'), 'oci-archive:%s:img' % (tmp_path / 'a.tar'))
    result = run('oci-archive:%s:img' % (tmp_path / 'a.tar'), 'oci:%s:back' % (tmp_path / 'back'))
    assert result['dest_digest'] == layout['v1']
    assert not run('oci-archive:%s:img' % (tmp_path / 'a.tar'), 'oci:%s:back' % (tmp_path / 'back'))['changed']
    archive = run(src, 'docker-archive:%s:example.com/img:1' % (tmp_path / 'd.tar'))
    with tarfile.open(str(tmp_path / 'd.tar')) as tar:
        items = json.loads(tar.extractfile('manifest.json').read())
        config_raw = tar.extractfile(items[0]['Config']).read()
        config = json.loads(config_raw)
        # layers are stored uncompressed, named by their diff ids
        assert ['sha256:' + name[:-4] for name in items[0]['Layers']] == config['rootfs']['diff_ids']
        for name in items[0]['Layers']:
            assert sha(tar.extractfile(name).read()) == 'sha256:' + name[:-4]
    assert items[0]['RepoTags'] == ['example.com/img:1']
    assert archive['dest_digest'] == sha(config_raw) == 'sha256:' + items[0]['Config'][:-5]
    assert not run(src, 'docker-archive:%s:example.com/img:1' % (tmp_path / 'd.tar'))['changed']
    # read back from the docker-archive: uncompressed layers, a v2s2 manifest synthesized from the archive
    back = run('docker-archive:%s:example.com/img:1' % (tmp_path / 'd.tar'), 'dir:%s' % (tmp_path / 'dir2'))
    assert back['manifest_type'] == mf.DOCKER_MANIFEST


def test_multi_arch(layout, tmp_path):
    src = 'oci:%s:multi' % layout['root']
    system = run(src, 'oci:%s:one' % (tmp_path / 'one'), platform='linux/arm64')
    assert system['dest_digest'] == layout['arm'] and system['instances'] == [layout['arm']]
    everything = run(src, 'oci:%s:all' % (tmp_path / 'all'), multi_arch='all')
    assert everything['dest_digest'] == layout['multi'] and everything['instances'] == [layout['amd'], layout['arm']]
    assert everything['manifest_type'] == mf.OCI_INDEX
    converted = run(src, 'dir:%s' % (tmp_path / 'dir'), multi_arch='all', fmt='v2s2')
    assert converted['manifest_type'] == mf.DOCKER_MANIFEST_LIST and converted['dest_digest'] != layout['multi']
    assert os.path.isfile(str(tmp_path / 'dir' / (converted['instances'][0].partition(':')[2] + '.manifest.json')))
    index_only = run(src, 'oci:%s:idx' % (tmp_path / 'idx'), multi_arch='index-only')
    assert index_only['dest_digest'] == layout['multi'] and index_only['instances'] == []
    assert index_only['stats']['blobs_copied'] == 0
    assert not os.path.exists(str(tmp_path / 'idx' / 'blobs' / 'sha256' / layout['amd'].partition(':')[2]))
    with pytest.raises(ConfigError, match='multi-platform'):
        run(src, 'docker-archive:%s:a/b:1' % (tmp_path / 'x.tar'), multi_arch='all')
    with pytest.raises(NotFoundError, match='available platforms'):
        run(src, 'oci:%s:x' % (tmp_path / 'none'), platform='linux/s390x')


def test_preserve_digests_refuses_before_writing(layout, tmp_path):
    with pytest.raises(ConfigError, match='preserve_digests'):
        run('oci:%s:v1' % layout['root'], 'dir:%s' % (tmp_path / 'conv'), fmt='v2s2', preserve_digests=True)
    with pytest.raises(ConfigError, match='preserve_digests'):
        run('oci:%s:v1' % layout['root'], 'docker-archive:%s:a/b:1' % (tmp_path / 'x.tar'), preserve_digests=True)
    assert not os.path.exists(str(tmp_path / 'conv')) and not os.path.exists(str(tmp_path / 'x.tar'))
    with pytest.raises(ConfigError, match='only OCI'):
        run('oci:%s:v1' % layout['root'], 'oci:%s:x' % (tmp_path / 'o'), fmt='v2s2')


def test_corrupt_blob_leaves_no_manifest(layout, tmp_path):
    with open(os.path.join(layout['root'], 'index.json')) as f:
        entry = json.load(f)['manifests'][0]
    with open(os.path.join(layout['root'], 'blobs', 'sha256', entry['digest'].partition(':')[2]), 'rb') as f:
        manifest = json.loads(f.read())
    victim = os.path.join(layout['root'], 'blobs', 'sha256', manifest['layers'][1]['digest'].partition(':')[2])
    with open(victim, 'r+b') as f:
        f.seek(20)
        f.write(b'\0\0\0\0')
    with pytest.raises(DigestMismatchError):
        run('oci:%s:v1' % layout['root'], 'oci:%s:x' % (tmp_path / 'dest'))
    assert not os.path.exists(str(tmp_path / 'dest' / 'index.json'))
    with pytest.raises(DigestMismatchError):
        run('oci:%s:v1' % layout['root'], 'oci-archive:%s:x' % (tmp_path / 'a.tar'))
    assert not os.path.exists(str(tmp_path / 'a.tar'))
    assert [n for n in os.listdir(str(tmp_path)) if 'stage' in n] == []


@pytest.mark.parametrize('src,dest,error,match', [
    ('ftp:/x', 'oci:/tmp/y', InvalidReferenceError, 'unknown transport'),
    ('oci:/nonexistent/podkit', 'oci:/tmp/y', NotFoundError, 'does not exist'),
    ('docker://example.com/a:1', 'docker-archive:/tmp/x.tar:untagged', InvalidReferenceError, 'has no tag'),
])
def test_bad_locations(src, dest, error, match):
    with pytest.raises(error, match=match):
        run(src, dest)


def test_unwritable_archive(layout):
    with pytest.raises(ImageStoreError, match='cannot write'):
        run('oci:%s:v1' % layout['root'], 'oci-archive:/nonexistent-podkit-dir/x.tar')


def test_dir_refuses_foreign_directory(layout, tmp_path):
    (tmp_path / 'busy').mkdir()
    (tmp_path / 'busy' / 'notes.txt').write_text(u'keep me')
    with pytest.raises(ImageStoreError, match='not empty'):
        run('oci:%s:v1' % layout['root'], 'dir:%s' % (tmp_path / 'busy'))
    assert (tmp_path / 'busy' / 'notes.txt').read_text() == u'keep me'


def test_decompressed_handles_concatenated_gzip_members():
    data = gzip.compress(b'abc') + gzip.compress(b'def')
    chunks = [data[i:i + 7] for i in range(0, len(data), 7)]
    assert b''.join(transports.decompressed(chunks)) == b'abcdef'
    assert b''.join(transports.decompressed([b'plain', b' tar'])) == b'plain tar'


def test_verified_chunks():
    data = b'x' * 100
    assert b''.join(transports.verified_chunks([data[:50], data[50:]], sha(data), 100, 'blob')) == data
    with pytest.raises(DigestMismatchError):
        list(transports.verified_chunks([data], sha(b'y'), 100, 'blob'))
    with pytest.raises(DigestMismatchError):
        list(transports.verified_chunks([data], sha(data), 99, 'blob'))
