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
    RegistryUnreachableError,
    TransferError,
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


def corrupt_last_layer(layout, manifest_digest):
    """Overwrite four bytes of the last layer of the image ``manifest_digest`` in the layout."""
    with open(os.path.join(layout['root'], 'blobs', 'sha256', manifest_digest.partition(':')[2]), 'rb') as f:
        manifest = json.loads(f.read())
    victim = os.path.join(layout['root'], 'blobs', 'sha256', manifest['layers'][-1]['digest'].partition(':')[2])
    with open(victim, 'r+b') as f:
        f.seek(20)
        f.write(b'\0\0\0\0')


def test_corrupt_blob_leaves_no_manifest(layout, tmp_path):
    corrupt_last_layer(layout, layout['v1'])
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


# -- nothing left behind ---------------------------------------------------------------------------------------------

def _held_temp(directory, prefix=transports.TMP_PREFIX):
    """A temp file as a live run holds it (its fd stays open and locked) with some bytes in it."""
    fd, path = transports._temp_file(directory, prefix=prefix)  # pylint: disable=protected-access
    os.write(fd, b'partial')
    return fd, path


def _dead_temp(directory, name, is_dir=False, age=0):
    path = os.path.join(directory, name)
    if is_dir:
        os.makedirs(os.path.join(path, 'blobs'))
    else:
        with open(path, 'wb') as f:
            f.write(b'partial blob of a killed run')
    if age:
        old = os.stat(path).st_mtime - age
        os.utime(path, (old, old))
    return path


def test_remove_stale_takes_only_dead_runs_files(tmp_path):
    directory = str(tmp_path)
    dead = _dead_temp(directory, '.tmp-dead1')
    dead_dir = _dead_temp(directory, '.a.tar.stage-dead', is_dir=True)
    fresh_empty = os.path.join(directory, '.tmp-fresh')
    open(fresh_empty, 'wb').close()
    old_empty = _dead_temp(directory, '.tmp-oldempty', age=3600)
    with open(old_empty, 'wb'):
        pass
    os.utime(old_empty, (os.stat(old_empty).st_mtime - 3600,) * 2)
    other = _dead_temp(directory, 'tmp-not-ours')
    os.symlink('/etc/hostname', os.path.join(directory, '.tmp-link'))
    fd, live = _held_temp(directory)
    try:
        removed = transports.remove_stale(directory, (transports.TMP_PREFIX, '.a.tar.stage-'))
        assert sorted(removed) == sorted(os.path.basename(p) for p in (dead, dead_dir, old_empty))
        # a live run's file (locked), a just-created empty one, names that are not ours and links all stay
        for path in (live, fresh_empty, other, os.path.join(directory, '.tmp-link')):
            assert os.path.lexists(path), path
    finally:
        os.close(fd)
    # once its run is gone, the file is stale
    assert transports.remove_stale(directory, (transports.TMP_PREFIX,)) == [os.path.basename(live)]


def test_a_run_removes_stale_files_of_its_target_even_without_change(layout, tmp_path):
    src = 'oci:%s:v1' % layout['root']
    dest = tmp_path / 'dest'
    run(src, 'oci:%s:v1' % dest)
    blobs = str(dest / 'blobs' / 'sha256')
    leftovers = [_dead_temp(str(dest), '.tmp-index'), _dead_temp(blobs, '.tmp-blob')]
    archive_dir = str(tmp_path)
    leftovers += [_dead_temp(archive_dir, '.a.tar.stage-xyz', is_dir=True), _dead_temp(archive_dir, '.a.tar.tmp-xyz')]
    fd, live = _held_temp(blobs)
    try:
        assert run(src, 'oci:%s:v1' % dest, check_mode=True)['changed'] is False
        assert all(os.path.exists(p) for p in leftovers), 'check mode removed files'
        assert run(src, 'oci:%s:v1' % dest)['changed'] is False
        run(src, 'oci-archive:%s:x' % (tmp_path / 'a.tar'))
        assert [p for p in leftovers if os.path.exists(p)] == []
        assert os.path.exists(live)  # a concurrent copy's blob in progress
    finally:
        os.close(fd)
    run(src, 'dir:%s' % (tmp_path / 'd'))
    stale = _dead_temp(str(tmp_path / 'd'), '.tmp-dirblob')
    run(src, 'dir:%s' % (tmp_path / 'd'))
    assert not os.path.exists(stale)


def test_temp_files_are_held_while_written(tmp_path):
    """A concurrent cleaner finds every temp file of a running write locked, up to the rename."""
    seen = []

    def chunks():
        for i in range(3):
            names = [n for n in os.listdir(str(tmp_path)) if n.startswith(transports.TMP_PREFIX)]
            seen.append((names, transports.remove_stale(str(tmp_path), (transports.TMP_PREFIX,))))
            yield b'x' * (i + 1)

    assert transports._write_file(str(tmp_path / 'blob'), chunks()) == 6  # pylint: disable=protected-access
    assert all(len(names) == 1 and removed == [] for names, removed in seen), seen
    with open(str(tmp_path / 'blob'), 'rb') as f:
        assert f.read() == b'xxxxxx'


@pytest.mark.parametrize('dest', ['oci:%s/new/layout:x', 'dir:%s/new/dir'])
def test_failed_copy_into_a_new_directory_leaves_nothing(layout, tmp_path, dest):
    # the last layer is corrupt: the config and the first layer are written before the copy fails
    corrupt_last_layer(layout, layout['v1'])
    with pytest.raises(DigestMismatchError):
        run('oci:%s:v1' % layout['root'], dest % tmp_path, parallel=1)
    assert not os.path.exists(str(tmp_path / 'new'))


def test_failed_copy_into_an_existing_layout_keeps_it(layout, tmp_path):
    dest = tmp_path / 'existing'
    run('oci:%s:v1' % layout['root'], 'oci:%s:v1' % dest)
    before = sorted(os.listdir(str(dest / 'blobs' / 'sha256')))
    corrupt_last_layer(layout, layout['amd'])
    with pytest.raises(DigestMismatchError):
        run('oci:%s:multi' % layout['root'], 'oci:%s:other' % dest, platform='linux/amd64', parallel=1)
    assert set(before) <= set(os.listdir(str(dest / 'blobs' / 'sha256')))
    assert run('oci:%s:v1' % layout['root'], 'oci:%s:v1' % dest)['changed'] is False


# -- registry races and lost answers -------------------------------------------------------------------------------

class _Client(object):
    """Just what RegistryDestination calls; each method does what the test sets."""

    registry = 'registry.example:5000'

    def __init__(self, upload=None, put=None, stored=None):
        self._upload = upload
        self._put = put
        self.stored = stored
        self.heads = 0

    def upload_blob(self, repository, digest, size, open_stream, verify=True):
        return self._upload(open_stream)

    def put_manifest(self, repository, reference, raw, media_type):
        return self._put()

    def head_manifest(self, repository, reference, accept=None):
        self.heads += 1
        if self.stored is None:
            raise NotFoundError('manifest not found', status=404)
        return {'digest': self.stored}


def _destination(client):
    from ansible_collections.podkit.containers.plugins.module_utils.registry.reference import parse_image_location
    return transports.RegistryDestination(parse_image_location('docker://registry.example:5000/app:1'), client)


class _Image(object):
    is_top = True
    raw = b'{}'
    media_type = mf.OCI_MANIFEST
    digest = sha(b'{}')
    layers = []


def test_registry_digest_complaint_after_verified_bytes_is_a_race_not_a_mismatch():
    data = b'blob bytes'
    desc = {'digest': sha(data), 'size': len(data)}

    def rejects_after_reading(open_stream):
        for dummy in open_stream():
            pass
        raise DigestMismatchError('registry rejected it: the content does not match its digest or size', status=400,
                                  error_codes=['DIGEST_INVALID'])

    dest = _destination(_Client(upload=rejects_after_reading))
    with pytest.raises(TransferError) as info:
        dest.put_blob(desc, lambda: transports.verified_chunks([data], desc['digest'], desc['size'], 'blob'))
    assert 'does not match' not in info.value.msg and 'verified' in info.value.msg and 'run the copy again' in info.value.msg

    # bytes that did not verify stay a mismatch
    with pytest.raises(DigestMismatchError):
        dest.put_blob(desc, lambda: transports.verified_chunks([b'other'], desc['digest'], desc['size'], 'blob'))


def test_blob_vanished_before_the_manifest_put_is_named_a_race():
    def missing_blob():
        raise TransferError('registry answered HTTP 400 (MANIFEST_BLOB_UNKNOWN: blob unknown to registry)', status=400,
                            error_codes=['MANIFEST_BLOB_UNKNOWN'])
    with pytest.raises(TransferError) as info:
        _destination(_Client(put=missing_blob)).put_manifest(_Image())
    assert 'concurrent delete or garbage collection' in info.value.msg


@pytest.mark.parametrize('stored,succeeds', [(sha(b'{}'), True), (sha(b'other'), False), (None, False)])
def test_lost_manifest_put_answer_is_checked_with_a_head(stored, succeeds):
    def reset():
        raise RegistryUnreachableError('connection reset by peer')
    client = _Client(put=reset, stored=stored)
    if succeeds:
        _destination(client).put_manifest(_Image())
    else:
        with pytest.raises(RegistryUnreachableError):
            _destination(client).put_manifest(_Image())
    assert client.heads == 1


def test_a_refused_manifest_is_not_asked_about():
    def refused():
        raise TransferError('registry answered HTTP 400', status=400)
    client = _Client(put=refused, stored=sha(b'{}'))
    with pytest.raises(TransferError):
        _destination(client).put_manifest(_Image())
    assert client.heads == 0


# -- foreign layers ----------------------------------------------------------------------------------------------

def _foreign_layout(root, urls):
    """An OCI layout whose image has a non-distributable layer that only ``urls`` would hold (its blob is absent)."""
    os.makedirs(os.path.join(root, 'blobs', 'sha256'))
    base = gzip.compress(layer_tar('a.txt', b'base'), mtime=0)
    foreign = gzip.compress(layer_tar('f.txt', b'foreign'), mtime=0)
    config = json.dumps({'architecture': 'amd64', 'os': 'linux', 'rootfs': {'type': 'layers', 'diff_ids': []}}).encode()
    manifest = json.dumps({'schemaVersion': 2, 'mediaType': mf.OCI_MANIFEST,
                           'config': {'mediaType': mf.OCI_CONFIG, 'size': len(config), 'digest': put_blob(root, config)},
                           'layers': [{'mediaType': mf.OCI_LAYER_GZIP, 'size': len(base), 'digest': put_blob(root, base)},
                                      {'mediaType': mf.OCI_LAYER_NONDIST_GZIP, 'size': len(foreign), 'digest': sha(foreign),
                                       'urls': urls}]}).encode()
    put_blob(root, manifest)
    write_index(root, [{'mediaType': mf.OCI_MANIFEST, 'digest': sha(manifest), 'size': len(manifest),
                        'annotations': {transports.REF_NAME: 'w'}}])
    return sha(manifest), sha(foreign)


def test_foreign_layer_is_kept_by_a_layout_and_needed_by_dir(tmp_path):
    digest, foreign = _foreign_layout(str(tmp_path / 'src'), ['ftp://cdn.example/layer', 'file:///etc/passwd'])
    kept = run('oci:%s:w' % (tmp_path / 'src'), 'oci:%s:w' % (tmp_path / 'kept'))
    assert kept['dest_digest'] == digest and kept['stats']['blobs_foreign'] == 1 and kept['stats']['blobs_copied'] == 2
    assert not os.path.exists(str(tmp_path / 'kept' / 'blobs' / 'sha256' / foreign.partition(':')[2]))
    # only http(s) URLs are fetched; neither of these is, and the layout has no copy: one message names them all
    with pytest.raises(NotFoundError) as info:
        run('oci:%s:w' % (tmp_path / 'src'), 'dir:%s' % (tmp_path / 'dir'))
    assert 'ftp://cdn.example/layer: not an http(s) URL' in info.value.msg and 'file:///etc/passwd' in info.value.msg
    assert not os.path.exists(str(tmp_path / 'dir'))


def test_parallel_copies_into_one_layout_keep_every_name(layout, tmp_path):
    import threading
    dest = tmp_path / 'shared'
    run('oci:%s:v1' % layout['root'], 'oci:%s:first' % dest)
    names = ['n%d' % i for i in range(8)]
    barrier = threading.Barrier(len(names))
    errors = []

    def copy_as(name):
        barrier.wait()
        try:
            run('oci:%s:v1' % layout['root'], 'oci:%s:%s' % (dest, name), parallel=1)
        except Exception as exc:  # pylint: disable=broad-except
            errors.append(exc)

    threads = [threading.Thread(target=copy_as, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with open(str(dest / 'index.json')) as f:
        held = sorted(e['annotations'][transports.REF_NAME] for e in json.load(f)['manifests'])
    assert held == sorted(names + ['first'])
    assert [n for n in os.listdir(str(dest)) if n.startswith('.tmp-')] == []


@pytest.mark.parametrize('text, fragment', [
    ('[[registry]\n', 'is not valid TOML at line 1'),
    ('a = ' + '[' * 1000, 'is nested deeper than 64 levels'),
])
def test_a_broken_registries_conf_is_not_ignored(tmp_path, text, fragment):
    path = tmp_path / 'registries.conf'
    path.write_text(text)
    conf = engine._SafeConf(str(path))
    for dummy in range(2):  # asked again (the other side of the copy), it fails again
        with pytest.raises(ConfigError) as info:
            conf.is_insecure('r.example')
        assert str(path) in info.value.msg and fragment in info.value.msg


def test_registries_conf_marks_insecure(tmp_path):
    path = tmp_path / 'registries.conf'
    path.write_text('[[registry]]\nlocation = "r.example"\ninsecure = true\n')
    conf = engine._SafeConf(str(path))
    assert conf.is_insecure('r.example') and not conf.is_insecure('other.example')
