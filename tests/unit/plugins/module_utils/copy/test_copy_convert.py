# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.copy.convert import (
    DOCKER_LAYER_TAR,
    convert_image,
    convert_index,
    convert_schema1,
    dumps,
)
from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError
from ansible_collections.podkit.containers.plugins.module_utils.registry import manifest as mf

C = 'sha256:' + 'c' * 64
L1 = 'sha256:' + '1' * 64
L2 = 'sha256:' + '2' * 64


DOCKER_CONFIG = (b'{"architecture":"amd64","os":"linux","container_config":{"Cmd":["sh"]},"config":{"Cmd":["sh"]},'
                 b'"rootfs":{"type":"layers","diff_ids":[]}}')


def read_config(desc):
    assert desc['digest'] == C
    return DOCKER_CONFIG


def image(media_type, config_type, layer_types, annotations=None):
    data = {'schemaVersion': 2, 'mediaType': media_type, 'config': {'mediaType': config_type, 'digest': C, 'size': 10},
            'layers': [{'mediaType': t, 'digest': d, 'size': 5} for t, d in zip(layer_types, (L1, L2))]}
    if annotations:
        data['annotations'] = annotations
    return mf.parse_manifest(dumps(data), media_type)


@pytest.mark.parametrize('source_layer,target,expected_layer', [
    (mf.DOCKER_LAYER, 'oci', mf.OCI_LAYER_GZIP),
    (DOCKER_LAYER_TAR, 'oci', mf.OCI_LAYER_TAR),
    (mf.DOCKER_FOREIGN_LAYER, 'oci', mf.OCI_LAYER_NONDIST_GZIP),
    (mf.DOCKER_FOREIGN_LAYER_TAR, 'oci', mf.OCI_LAYER_NONDIST_TAR),
    (mf.OCI_LAYER_GZIP, 'v2s2', mf.DOCKER_LAYER),
    (mf.OCI_LAYER_TAR, 'v2s2', DOCKER_LAYER_TAR),
    (mf.OCI_LAYER_NONDIST_GZIP, 'v2s2', mf.DOCKER_FOREIGN_LAYER),
    (mf.OCI_LAYER_NONDIST_TAR, 'v2s2', mf.DOCKER_FOREIGN_LAYER_TAR),
])
def test_layer_media_types(source_layer, target, expected_layer):
    if target == 'oci':
        source = image(mf.DOCKER_MANIFEST, mf.DOCKER_CONFIG, [source_layer])
    else:
        source = image(mf.OCI_MANIFEST, mf.OCI_CONFIG, [source_layer])
    raw, media_type, new_blobs = convert_image(source, target, read_config)
    data = json.loads(raw)
    assert media_type == data['mediaType'] == (mf.OCI_MANIFEST if target == 'oci' else mf.DOCKER_MANIFEST)
    assert data['layers'] == [{'mediaType': expected_layer, 'digest': L1, 'size': 5}]
    if target == 'v2s2':
        # the config blob stays; only its descriptor's media type changes
        assert data['config'] == {'mediaType': mf.DOCKER_CONFIG, 'digest': C, 'size': 10}
        assert new_blobs == {}
    # the result is a valid manifest of the target type
    assert mf.parse_manifest(raw, media_type).media_type == media_type


def test_docker_to_oci_reencodes_the_config():
    source = image(mf.DOCKER_MANIFEST, mf.DOCKER_CONFIG, [mf.DOCKER_LAYER])
    raw, media_type, new_blobs = convert_image(source, 'oci', read_config)
    config = b'{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":[]}}'
    digest = mf.digest_of(config)
    assert new_blobs == {digest: config}
    # member order of the Go structs: mediaType, digest, size
    assert raw == (b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":'
                   b'"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":'
                   b'"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":5}]}'
                   % (digest.encode(), len(config), L1.encode()))


def test_oci_to_docker_writes_size_before_digest():
    source = image(mf.OCI_MANIFEST, mf.OCI_CONFIG, [mf.OCI_LAYER_GZIP], annotations={'a': 'b'})
    raw, dummy, dummy = convert_image(source, 'v2s2')
    assert raw == (b'{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":'
                   b'{"mediaType":"application/vnd.docker.container.image.v1+json","size":10,"digest":"%s"},"layers":'
                   b'[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":5,"digest":"%s"}]}'
                   % (C.encode(), L1.encode()))


def test_wrong_config_types_fail_as_in_skopeo():
    source = image(mf.DOCKER_MANIFEST, mf.DOCKER_CONFIG, [mf.DOCKER_LAYER])
    with pytest.raises(ConfigError, match=r'\$\.architecture has the wrong type'):
        convert_image(source, 'oci', lambda desc: b'{"architecture":5}')


def test_same_format_keeps_bytes():
    source = image(mf.DOCKER_MANIFEST, mf.DOCKER_CONFIG, [mf.DOCKER_LAYER])
    assert convert_image(source, 'v2s2') == (source.raw, source.media_type, {})
    assert convert_image(source, None) == (source.raw, source.media_type, {})


def test_unknown_layer_type_refused():
    source = image(mf.DOCKER_MANIFEST, mf.DOCKER_CONFIG, [mf.OCI_LAYER_GZIP])
    with pytest.raises(ConfigError, match='no OCI equivalent'):
        convert_image(source, 'oci', read_config)


@pytest.mark.parametrize('layer', [mf.OCI_LAYER_ZSTD, mf.OCI_LAYER_NONDIST_ZSTD])
def test_zstd_cannot_become_v2s2(layer):
    source = image(mf.OCI_MANIFEST, mf.OCI_CONFIG, [layer])
    with pytest.raises(ConfigError, match='zstd'):
        convert_image(source, 'v2s2')


@pytest.mark.parametrize('config_type', ['application/vnd.example.artifact+json', mf.DOCKER_CONFIG])
def test_artifact_cannot_become_v2s2(config_type):
    source = image(mf.OCI_MANIFEST, config_type, [mf.OCI_LAYER_GZIP])
    with pytest.raises(ConfigError, match='artifact'):
        convert_image(source, 'v2s2')


def _index(media_type, entry_type):
    data = {'schemaVersion': 2, 'mediaType': media_type,
            'manifests': [{'mediaType': entry_type, 'digest': L1, 'size': 100, 'platform': {'os': 'linux', 'architecture': 'amd64'}},
                          {'mediaType': entry_type, 'digest': L2, 'size': 100, 'platform': {'os': 'linux', 'architecture': 'arm64'}}]}
    return mf.parse_manifest(dumps(data), media_type)


def test_index_unchanged_keeps_digest():
    index = _index(mf.DOCKER_MANIFEST_LIST, mf.DOCKER_MANIFEST)
    assert convert_index(index, None, {L1: {'digest': L1, 'mediaType': mf.DOCKER_MANIFEST, 'size': 100}}) == \
        (index.raw, index.media_type)


def test_index_converted_with_replaced_entries():
    index = _index(mf.DOCKER_MANIFEST_LIST, mf.DOCKER_MANIFEST)
    new1 = {'digest': 'sha256:' + 'd' * 64, 'mediaType': mf.OCI_MANIFEST, 'size': 90}
    new2 = {'digest': 'sha256:' + 'e' * 64, 'mediaType': mf.OCI_MANIFEST, 'size': 91}
    raw, media_type = convert_index(index, 'oci', {L1: new1, L2: new2})
    data = json.loads(raw)
    assert media_type == mf.OCI_INDEX == data['mediaType']
    assert [(e['digest'], e['mediaType'], e['size'], e['platform']['architecture']) for e in data['manifests']] == [
        (new1['digest'], mf.OCI_MANIFEST, 90, 'amd64'), (new2['digest'], mf.OCI_MANIFEST, 91, 'arm64')]
    assert mf.parse_manifest(raw, media_type).is_index


def test_index_only_conversion_refused():
    index = _index(mf.DOCKER_MANIFEST_LIST, mf.DOCKER_MANIFEST)
    with pytest.raises(ConfigError, match='multi_arch: all'):
        convert_index(index, 'oci', {})


def test_index_converted_to_docker_list_fills_missing_platform():
    data = {'schemaVersion': 2, 'mediaType': mf.OCI_INDEX, 'annotations': {'a': 'b'},
            'manifests': [{'mediaType': mf.OCI_MANIFEST, 'digest': L1, 'size': 100, 'annotations': {'x': 'y'}}]}
    index = mf.parse_manifest(dumps(data), mf.OCI_INDEX)
    new1 = {'digest': 'sha256:' + 'd' * 64, 'mediaType': mf.DOCKER_MANIFEST, 'size': 90}
    raw, media_type = convert_index(index, 'v2s2', {L1: new1})
    local = mf.local_platform()
    assert media_type == mf.DOCKER_MANIFEST_LIST
    assert raw == (b'{"schemaVersion":2,"mediaType":"%s","manifests":[{"mediaType":"%s","size":90,"digest":"%s",'
                   b'"platform":{"architecture":"%s","os":"%s"}}]}'
                   % (mf.DOCKER_MANIFEST_LIST.encode(), mf.DOCKER_MANIFEST.encode(), new1['digest'].encode(),
                      local['architecture'].encode(), local['os'].encode()))


# -- Docker schema 1 -------------------------------------------------------------------------------------------

ID_BASE, ID_MID, ID_TOP = ('%064x' % n for n in (1, 2, 3))
EMPTY_LAYER = 'sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4'


def schema1(history, layers=None):
    """An unsigned schema 1 manifest; ``history`` top first, as v1Compatibility dicts (or raw strings)."""
    data = {'schemaVersion': 1, 'name': 'old/app', 'tag': '1', 'architecture': 'amd64',
            'fsLayers': [{'blobSum': d} for d in (layers or [L2, EMPTY_LAYER, L1][-len(history):])],
            'history': [{'v1Compatibility': h if isinstance(h, str) else json.dumps(h)} for h in history]}
    return mf.parse_manifest(json.dumps(data, indent=3).encode(), mf.DOCKER_SCHEMA1)


def measure(digest):
    return {L1: (11, 'sha256:' + 'a' * 64, True), L2: (22, 'sha256:' + 'b' * 64, False)}[digest]


TOP = ('{"id":"%s","parent":"%s","created":"2020-01-02T03:04:05.5+00:00","architecture":"amd64","os":"linux",'
       '"config":{"Cmd":["sh"],"Labels":{"a":"<b>"}},"container_config":{"Cmd":["/bin/sh -c #(nop) ADD x"]},"Size":5,'
       '"docker_version":"1.13"}' % (ID_TOP, ID_MID))
MID = {'id': ID_MID, 'parent': ID_BASE, 'created': '2020-01-02T03:04:04Z', 'throwaway': True,
       'container_config': {'Cmd': ['/bin/sh', '-c', '#(nop) ENV A=1']}}
BASE = {'id': ID_BASE, 'created': '2020-01-01T00:00:00Z', 'author': 'me', 'comment': 'base'}


@pytest.mark.parametrize('fmt', [None, 'v2s2', 'oci'])
def test_schema1_converted_as_containers_image_does(fmt):
    raw, media_type, new_blobs = convert_schema1(schema1([TOP, MID, BASE]), fmt, measure)
    data = json.loads(raw)
    assert media_type == data['mediaType'] == (mf.OCI_MANIFEST if fmt == 'oci' else mf.DOCKER_MANIFEST)
    # the throwaway layer is not in the image; base first; an uncompressed blob is described as one
    assert [(layer['digest'], layer['size']) for layer in data['layers']] == [(L1, 11), (L2, 22)]
    config = new_blobs[data['config']['digest']]
    if fmt == 'oci':
        assert data['layers'][1]['mediaType'] == mf.OCI_LAYER_TAR
        assert json.loads(config)['rootfs'] == {'type': 'layers', 'diff_ids': ['sha256:' + 'a' * 64, 'sha256:' + 'b' * 64]}
        return
    assert data['layers'][1]['mediaType'] == mf.DOCKER_LAYER_TAR
    # the top entry as it was (members sorted, HTML escaped, v1 chain members gone), rootfs and history added
    assert config == (
        b'{"architecture":"amd64","config":{"Cmd":["sh"],"Labels":{"a":"\\u003cb\\u003e"}},'
        b'"container_config":{"Cmd":["/bin/sh -c #(nop) ADD x"]},"created":"2020-01-02T03:04:05.5+00:00",'
        b'"docker_version":"1.13","history":[{"created":"2020-01-01T00:00:00Z","author":"me","comment":"base"},'
        b'{"created":"2020-01-02T03:04:04Z","created_by":"/bin/sh -c #(nop) ENV A=1","empty_layer":true},'
        b'{"created":"2020-01-02T03:04:05.5Z","created_by":"/bin/sh -c #(nop) ADD x"}],"os":"linux",'
        b'"rootfs":{"type":"layers","diff_ids":["sha256:' + b'a' * 64 + b'","sha256:' + b'b' * 64 + b'"]}}')
    assert data['config'] == {'mediaType': mf.DOCKER_CONFIG, 'size': len(config), 'digest': mf.digest_of(config)}


def test_schema1_repeated_layer_ids_are_one_layer():
    raw, dummy, dummy = convert_schema1(schema1([TOP, TOP, MID, BASE], [L2, L2, EMPTY_LAYER, L1]), 'v2s2', measure)
    assert [layer['digest'] for layer in json.loads(raw)['layers']] == [L1, L2]


@pytest.mark.parametrize('history,layers,message', [
    ([TOP, MID, BASE], [L2, L1], '3 history entries'),
    ([dict(BASE, id='xyz')], [L1], 'is not 64 hex digits'),
    ([dict(BASE, parent=ID_MID)], [L1], 'base layer has a parent'),
    ([TOP, BASE], [L2, L1], 'names parent %s, not %s' % (ID_MID, ID_BASE)),
    ([dict(BASE, parent=ID_MID), MID, BASE], None, 'appears more than once'),
    ([dict(BASE, created='yesterday')], [L1], r'\$\.created has the wrong type'),
])
def test_schema1_inconsistencies_refused(history, layers, message):
    with pytest.raises(ConfigError, match=message):
        convert_schema1(schema1(history, layers), 'v2s2', measure)
