# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import hashlib
import json

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError, DigestMismatchError, ManifestError, NotFoundError
from ansible_collections.podkit.containers.plugins.module_utils.registry import manifest as m
from ansible_collections.podkit.containers.plugins.module_utils.registry import _schemas

D1 = 'sha256:' + 'a' * 64
D2 = 'sha256:' + 'b' * 64
D3 = 'sha256:' + 'c' * 64

OCI = {
    'schemaVersion': 2,
    'mediaType': m.OCI_MANIFEST,
    'config': {'mediaType': m.OCI_CONFIG, 'digest': D1, 'size': 7023},
    'layers': [
        {'mediaType': m.OCI_LAYER_GZIP, 'digest': D2, 'size': 32654, 'urls': ['https://x/y'], 'annotations': {'k': 'v'}},
        {'mediaType': m.OCI_LAYER_ZSTD, 'digest': D3, 'size': 16724},
    ],
    'annotations': {'org.opencontainers.image.created': '2024-01-01T00:00:00Z'},
}
V2S2 = {
    'schemaVersion': 2,
    'mediaType': m.DOCKER_MANIFEST,
    'config': {'mediaType': m.DOCKER_CONFIG, 'digest': D1, 'size': 1},
    'layers': [{'mediaType': m.DOCKER_LAYER, 'digest': D2, 'size': 2}],
}
INDEX = {
    'schemaVersion': 2,
    'mediaType': m.OCI_INDEX,
    'manifests': [
        {'mediaType': m.OCI_MANIFEST, 'digest': D1, 'size': 10, 'platform': {'os': 'linux', 'architecture': 'amd64'}},
        {'mediaType': m.OCI_MANIFEST, 'digest': D2, 'size': 10, 'platform': {'os': 'linux', 'architecture': 'arm64', 'variant': 'v8'}},
        {'mediaType': m.OCI_MANIFEST, 'digest': D3, 'size': 10},
    ],
}
LIST = {
    'schemaVersion': 2,
    'mediaType': m.DOCKER_MANIFEST_LIST,
    'manifests': [
        {'mediaType': m.DOCKER_MANIFEST, 'digest': D1, 'size': 10, 'platform': {'os': 'linux', 'architecture': 'amd64'}},
    ],
}


def raw(doc):
    return json.dumps(doc).encode('utf-8')


def changed(doc, path, value=None, delete=False):
    doc = copy.deepcopy(doc)
    target = doc
    for part in path[:-1]:
        target = target[part]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


@pytest.mark.parametrize('doc, content_type, media_type', [
    (OCI, m.OCI_MANIFEST, m.OCI_MANIFEST),
    (OCI, None, m.OCI_MANIFEST),
    (changed(OCI, ['mediaType'], delete=True), m.OCI_MANIFEST, m.OCI_MANIFEST),
    (changed(OCI, ['mediaType'], delete=True), None, m.OCI_MANIFEST),
    (changed(OCI, ['layers'], []), m.OCI_MANIFEST, m.OCI_MANIFEST),
    (V2S2, m.DOCKER_MANIFEST, m.DOCKER_MANIFEST),
    (V2S2, 'application/json; charset=utf-8', m.DOCKER_MANIFEST),
    (INDEX, m.OCI_INDEX, m.OCI_INDEX),
    (changed(INDEX, ['mediaType'], delete=True), None, m.OCI_INDEX),
    (LIST, m.DOCKER_MANIFEST_LIST, m.DOCKER_MANIFEST_LIST),
])
def test_valid_manifests(doc, content_type, media_type):
    body = raw(doc)
    parsed = m.parse_manifest(body, content_type)
    assert parsed.media_type == media_type
    assert parsed.digest == 'sha256:' + hashlib.sha256(body).hexdigest()
    assert parsed.raw == body and parsed.size == len(body)
    assert parsed.schema_version == 2


@pytest.mark.parametrize('doc, content_type, path', [
    (changed(OCI, ['schemaVersion'], 3), None, '$.schemaVersion'),
    (changed(OCI, ['schemaVersion'], '2'), None, '$.schemaVersion'),
    (changed(OCI, ['config'], delete=True), m.OCI_MANIFEST, '$'),
    (changed(OCI, ['layers'], delete=True), m.OCI_MANIFEST, '$'),
    (changed(OCI, ['layers'], {}), None, '$.layers'),
    (changed(OCI, ['config', 'digest'], 'sha256'), None, '$.config.digest'),
    (changed(OCI, ['config', 'digest'], 'SHA256:abc'), None, '$.config.digest'),
    (changed(OCI, ['config', 'size'], -1), None, '$.config.size'),
    (changed(OCI, ['config', 'size'], '12'), None, '$.config.size'),
    (changed(OCI, ['config', 'mediaType'], 'not a media type'), None, '$.config.mediaType'),
    (changed(OCI, ['config', 'mediaType'], delete=True), None, '$.config'),
    (changed(OCI, ['layers', 1, 'digest'], delete=True), None, '$.layers[1]'),
    (changed(OCI, ['layers', 0, 'urls'], 'https://x'), None, '$.layers[0].urls'),
    (changed(OCI, ['layers', 0, 'annotations'], {'k': 1}), None, '$.layers[0].annotations.k'),
    (changed(OCI, ['annotations'], []), None, '$.annotations'),
    (changed(V2S2, ['mediaType'], delete=True), m.DOCKER_MANIFEST, '$'),
    (changed(V2S2, ['layers', 0, 'size'], delete=True), None, '$.layers[0]'),
    (changed(INDEX, ['manifests'], delete=True), m.OCI_INDEX, '$'),
    (changed(INDEX, ['manifests', 0, 'platform', 'os'], delete=True), None, '$.manifests[0].platform'),
    (changed(INDEX, ['manifests', 0, 'platform', 'architecture'], 64), None, '$.manifests[0].platform.architecture'),
    (changed(LIST, ['manifests', 0, 'platform'], delete=True), None, '$.manifests[0]'),
])
def test_schema_violations_name_the_json_path(doc, content_type, path):
    with pytest.raises(ManifestError) as info:
        m.parse_manifest(raw(doc), content_type)
    assert info.value.details['json_path'] == path
    assert ' at %s: ' % path in info.value.msg


@pytest.mark.parametrize('body, content_type, fragment', [
    (b'{not json', None, 'not valid JSON'),
    (b'\xff\xfe', None, 'is not UTF-8 text'),
    (b'[' * 400000, None, 'is nested deeper than 64 levels'),
    (b'{"a": ' * 100000, None, 'is nested deeper than 64 levels'),
    (b'[1]', None, 'not a JSON object'),
    (b'{"schemaVersion": 2}', None, 'unsupported media type (none)'),
    (raw(changed(OCI, ['mediaType'], delete=True)), 'application/vnd.example+json', 'unsupported media type application/vnd.example+json'),
    (raw(OCI), 'application/vnd.example+json', 'is served as application/vnd.example+json but declares mediaType'),
    (raw(OCI), m.DOCKER_MANIFEST, 'is served as application/vnd.docker.distribution.manifest.v2+json but declares'),
])
def test_invalid_documents(body, content_type, fragment):
    with pytest.raises(ManifestError) as info:
        m.parse_manifest(body, content_type)
    assert fragment in info.value.msg


def test_size_cap():
    body = raw(OCI) + b' ' * (4 * 1024 * 1024)
    with pytest.raises(ManifestError, match='manifest of x is larger than 4 MiB'):
        m.parse_manifest(body, what='manifest of x')
    # exactly 4 MiB is fine
    body = raw(OCI)
    body += b' ' * (4 * 1024 * 1024 - len(body))
    assert m.parse_manifest(body).media_type == m.OCI_MANIFEST


def test_digest_verification():
    body = raw(OCI)
    good = m.digest_of(body)
    assert m.parse_manifest(body, expected_digest=good).digest == good
    with pytest.raises(DigestMismatchError) as info:
        m.parse_manifest(body, expected_digest=D1, registry='r', repository='a')
    assert info.value.details['expected'] == D1 and info.value.details['actual'] == good
    sha512 = 'sha512:' + hashlib.sha512(body).hexdigest()
    assert m.parse_manifest(body, expected_digest=sha512).digest == good


def test_accessors_image_and_index():
    parsed = m.parse_manifest(raw(OCI))
    assert not parsed.is_index
    assert parsed.config == {'digest': D1, 'size': 7023, 'mediaType': m.OCI_CONFIG, 'urls': [], 'annotations': {}}
    assert [layer['digest'] for layer in parsed.layers] == [D2, D3]
    assert parsed.layers[0]['urls'] == ['https://x/y'] and parsed.layers[0]['annotations'] == {'k': 'v'}
    assert parsed.manifests == []
    index = m.parse_manifest(raw(INDEX))
    assert index.is_index and index.config is None and index.layers == []
    assert index.manifests[1]['platform'] == {'os': 'linux', 'architecture': 'arm64', 'variant': 'v8'}
    assert index.manifests[2]['platform'] == {}


def _b64url(data):
    return base64.urlsafe_b64encode(data).decode('ascii').rstrip('=')


def signed_schema1():
    payload = json.dumps({
        'schemaVersion': 1, 'name': 'library/x', 'tag': 'old', 'architecture': 'amd64',
        'fsLayers': [{'blobSum': D3}, {'blobSum': D2}],
        'history': [{'v1Compatibility': json.dumps({'id': 'top', 'os': 'linux'})}, {'v1Compatibility': json.dumps({'id': 'base'})}],
    }, indent=3).encode('utf-8')
    # The signed form: the payload's closing "\n}" is replaced by the signatures member.
    cut = payload.rindex(b'\n}')
    tail = payload[cut:]
    protected = _b64url(json.dumps({'formatLength': cut, 'formatTail': _b64url(tail), 'time': '2016-01-01T00:00:00Z'}).encode('utf-8'))
    signature = ',\n   "signatures": [{"header": {"alg": "ES256"}, "signature": "c2ln", "protected": "%s"}]\n}' % protected
    signed = payload[:cut] + signature.encode('utf-8')
    return payload, signed


def test_schema1_signed_digest_over_payload():
    payload, signed = signed_schema1()
    payload_digest = m.digest_of(payload)
    parsed = m.parse_manifest(signed, m.DOCKER_SCHEMA1_SIGNED, expected_digest=payload_digest)
    assert parsed.media_type == m.DOCKER_SCHEMA1_SIGNED and parsed.is_schema1
    assert parsed.digest == payload_digest != m.digest_of(signed)
    assert [layer['digest'] for layer in parsed.layers] == [D2, D3]  # base first
    assert [h['id'] for h in parsed.schema1_history] == ['base', 'top']
    assert parsed.platform == {'os': 'linux', 'architecture': 'amd64'}
    assert parsed.schema_version == 1


def test_schema1_unsigned_and_content_type_variants():
    payload, dummy = signed_schema1()
    parsed = m.parse_manifest(payload, m.DOCKER_SCHEMA1_SIGNED)
    assert parsed.media_type == m.DOCKER_SCHEMA1 and parsed.digest == m.digest_of(payload)
    assert m.parse_manifest(payload, None).media_type == m.DOCKER_SCHEMA1
    with pytest.raises(ManifestError, match=r'\$\.fsLayers\[0\]'):
        m.parse_manifest(raw({'schemaVersion': 1, 'fsLayers': [{}]}))


def test_parse_config():
    config = raw({'architecture': 'amd64', 'os': 'linux', 'rootfs': {'type': 'layers', 'diff_ids': [D1]},
                  'config': {'Env': ['A=1'], 'Cmd': None, 'Labels': None}})
    assert m.parse_config(config, expected_digest=m.digest_of(config))['os'] == 'linux'
    with pytest.raises(ManifestError, match=r'\$\.rootfs\.type'):
        m.parse_config(raw({'architecture': 'amd64', 'os': 'linux', 'rootfs': {'type': 'x', 'diff_ids': []}}))
    with pytest.raises(DigestMismatchError):
        m.parse_config(config, expected_digest=D1)


def test_docker_layer_tar_is_a_layer_type():
    assert m.DOCKER_LAYER_TAR == 'application/vnd.docker.image.rootfs.diff.tar'
    assert m.DOCKER_LAYER_TAR in m.LAYER_TYPES


def test_accept_all_order():
    assert m.ACCEPT_ALL == [m.OCI_MANIFEST, m.DOCKER_MANIFEST, m.DOCKER_SCHEMA1_SIGNED, m.DOCKER_SCHEMA1,
                            m.DOCKER_MANIFEST_LIST, m.OCI_INDEX]


# -- platforms ----------------------------------------------------------------------------------------

def entry(digest, arch, variant=None, os_name='linux'):
    platform = {'os': os_name, 'architecture': arch}
    if variant:
        platform['variant'] = variant
    return {'mediaType': m.OCI_MANIFEST, 'digest': digest, 'size': 1, 'platform': platform}


def d(n):
    return 'sha256:%064d' % n


MULTI = {'schemaVersion': 2, 'mediaType': m.OCI_INDEX, 'manifests': [
    entry(d(1), 'amd64'),
    entry(d(2), 'arm', 'v6'),
    entry(d(3), 'arm', 'v7'),
    entry(d(4), 'arm64', 'v8'),
    entry(d(5), 'ppc64le'),
    entry(d(6), 'amd64', os_name='windows'),
    entry(d(7), 's390x'),
    entry(d(8), '386'),
]}


@pytest.mark.parametrize('index, os_name, arch, variant, expected', [
    (MULTI, 'linux', 'amd64', None, 1),
    (MULTI, 'linux', 'amd64', 'v3', 1),          # amd64 ignores the variant
    (MULTI, 'windows', 'amd64', None, 6),
    (MULTI, 'linux', 'arm64', None, 4),          # arm64 defaults to v8
    (MULTI, 'linux', 'arm64', 'v8', 4),
    (MULTI, 'linux', 'arm', None, 3),            # arm defaults to v7
    (MULTI, 'linux', 'arm', 'v7', 3),
    (MULTI, 'linux', 'arm', 'v6', 2),
    (MULTI, 'linux', 'arm', 'v8', 3),            # 32-bit v8 runs v7 code
    (MULTI, 'linux', 'ppc64le', None, 5),
    (MULTI, 'linux', 's390x', None, 7),
    (MULTI, 'linux', '386', None, 8),
    (MULTI, 'linux', 'x86_64', None, 1),         # aliases
    (MULTI, 'linux', 'aarch64', None, 4),
    # arm v7 falls back to v6, then v5, then an entry without variant
    ({'manifests': [entry(d(1), 'arm', 'v5'), entry(d(2), 'arm', 'v6')]}, 'linux', 'arm', 'v7', 2),
    ({'manifests': [entry(d(1), 'arm', 'v5')]}, 'linux', 'arm', 'v7', 1),
    ({'manifests': [entry(d(1), 'arm'), entry(d(2), 'arm', 'v5')]}, 'linux', 'arm', 'v7', 2),
    ({'manifests': [entry(d(1), 'arm')]}, 'linux', 'arm', 'v7', 1),
    # entries without variant match arm64
    ({'manifests': [entry(d(1), 'arm64')]}, 'linux', 'arm64', None, 1),
    ({'manifests': [entry(d(1), 'arm64'), entry(d(2), 'arm64', 'v8')]}, 'linux', 'arm64', None, 2),
    ({'manifests': [entry(d(1), 'amd64', 'v2'), entry(d(2), 'amd64', 'v3')]}, 'linux', 'amd64', 'v3', 2),
])
def test_choose_platform(index, os_name, arch, variant, expected):
    chosen = m.choose_platform(index, os_name, arch, variant)
    assert chosen['digest'] == d(expected)


@pytest.mark.parametrize('index, os_name, arch, variant', [
    (MULTI, 'linux', 'riscv64', None),
    (MULTI, 'darwin', 'arm64', None),
    ({'manifests': [entry(d(1), 'arm', 'v7')]}, 'linux', 'arm', 'v6'),   # a v6 CPU cannot run v7 code
    ({'manifests': [entry(d(1), 'arm', 'v8')]}, 'linux', 'arm', None),
])
def test_choose_platform_no_match(index, os_name, arch, variant):
    with pytest.raises(NotFoundError) as info:
        m.choose_platform(index, os_name, arch, variant)
    assert 'available platforms: ' in info.value.msg
    assert info.value.details['available_platforms']


def test_choose_platform_lists_available():
    with pytest.raises(NotFoundError) as info:
        m.choose_platform(m.parse_manifest(raw(MULTI)), 'linux', 'mips64')
    assert info.value.msg == ('no image for platform linux/mips64 in the manifest list; available platforms: '
                              'linux/386, linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64/v8, linux/ppc64le, linux/s390x, windows/amd64')


@pytest.mark.parametrize('text, expected', [
    ('linux/arm64/v8', {'os': 'linux', 'architecture': 'arm64', 'variant': 'v8'}),
    ('linux/amd64', {'os': 'linux', 'architecture': 'amd64', 'variant': None}),
    ('linux/arm/7', {'os': 'linux', 'architecture': 'arm', 'variant': 'v7'}),
    ('Linux/x86_64', {'os': 'linux', 'architecture': 'amd64', 'variant': None}),
])
def test_platform_from_string(text, expected):
    assert m.platform_from_string(text) == expected


@pytest.mark.parametrize('text', ['linux', '', 'linux//v7', 'a/b/c/d'])
def test_platform_from_string_invalid(text):
    with pytest.raises(ValueError):
        m.platform_from_string(text)


def test_platform_option_is_the_modules_platform():
    assert m.platform_option(None) is None and m.platform_option('') is None
    assert m.platform_option('linux/arm/7') == {'os': 'linux', 'architecture': 'arm', 'variant': 'v7'}
    with pytest.raises(ConfigError) as err:
        m.platform_option('linux')
    assert err.value.msg == "platform 'linux' is not os/arch[/variant]; write it as os/arch[/variant], for example linux/arm64/v8"
    assert err.value.details == {'option': 'platform'}


@pytest.mark.parametrize('machine, arch, variant', [
    ('x86_64', 'amd64', None),
    ('aarch64', 'arm64', 'v8'),
    ('armv7l', 'arm', 'v7'),
    ('armv6l', 'arm', 'v6'),
    ('ppc64le', 'ppc64le', None),
    ('s390x', 's390x', None),
    ('i686', '386', None),
])
def test_local_platform(monkeypatch, machine, arch, variant):
    monkeypatch.setattr(m._platform, 'machine', lambda: machine)
    monkeypatch.setattr(m._platform, 'system', lambda: 'Linux')
    assert m.local_platform() == {'os': 'linux', 'architecture': arch, 'variant': variant}


# -- the plain-Python schema check in front of jsonschema ---------------------------------------------

CONFIG = {
    'architecture': 'amd64', 'os': 'linux', 'created': '2024-01-01T00:00:00Z',
    'config': {'Env': ['A=b'], 'Cmd': None, 'Labels': {'k': 'v'}, 'ExposedPorts': {'80/tcp': {}}, 'User': 'app'},
    'rootfs': {'type': 'layers', 'diff_ids': [D1, D2]},
    'history': [{'created_by': 'x', 'empty_layer': True}],
}
SCHEMA1 = {'schemaVersion': 1, 'name': 'a/b', 'tag': 'v1', 'architecture': 'amd64', 'fsLayers': [{'blobSum': D1}],
           'history': [{'v1Compatibility': '{}'}], 'signatures': [{'protected': 'x'}]}
_REPLACEMENTS = [None, True, False, 0, 1, 2, -1, 1.0, 2.5, '', 'x', 'a/b', D1, 'sha256:AB', 'not a digest', [], ['x'], [1],
                 {}, {'k': 'v'}, {'k': 1}, {'': 1}, {'\n': 1}, 2 ** 64, -2 ** 63 - 1]


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from _paths(value, prefix + (index,))


def _mutations(doc):
    for path in _paths(doc):
        if not path:
            continue
        yield changed(doc, list(path), delete=True) if isinstance(path[-1], str) else doc
        for value in _REPLACEMENTS:
            yield changed(doc, list(path), copy.deepcopy(value))
        parent = path[:-1]
        target = doc
        for part in parent:
            target = target[part]
        if isinstance(target, dict):
            for value in ('x', 1, None, {}):
                yield changed(doc, list(parent) + ['zz-extra'], value)


@pytest.mark.parametrize('doc, schema', [
    (OCI, _schemas.OCI_MANIFEST), (V2S2, _schemas.DOCKER_MANIFEST), (INDEX, _schemas.OCI_INDEX),
    (LIST, _schemas.DOCKER_MANIFEST_LIST), (SCHEMA1, _schemas.DOCKER_SCHEMA1), (CONFIG, _schemas.IMAGE_CONFIG),
])
def test_fast_schema_check_agrees_with_jsonschema(doc, schema):
    jsonschema = pytest.importorskip('jsonschema')
    validator = jsonschema.validators.validator_for(schema)(schema)
    assert m.conforms(doc, schema) and validator.is_valid(doc)
    fast = 0
    for mutated in _mutations(doc):
        if m.conforms(mutated, schema):
            fast += 1
            # Never more lenient than jsonschema: what it calls valid, jsonschema calls valid.
            assert validator.is_valid(mutated), mutated
        elif validator.is_valid(mutated):
            # Undecided (floats) may go to jsonschema; a valid document otherwise takes the fast path.
            assert any(isinstance(v, float) for v in _leaves(mutated)), mutated
    assert fast > 10


def _leaves(doc):
    if isinstance(doc, dict):
        for value in doc.values():
            yield from _leaves(value)
    elif isinstance(doc, list):
        for value in doc:
            yield from _leaves(value)
    else:
        yield doc


def test_valid_manifest_does_not_consult_jsonschema(monkeypatch):
    def refuse(*args):
        raise AssertionError('jsonschema consulted for a valid document')

    monkeypatch.setattr(m, '_validator', refuse)
    for doc, media_type in ((OCI, m.OCI_MANIFEST), (V2S2, m.DOCKER_MANIFEST), (INDEX, m.OCI_INDEX), (LIST, m.DOCKER_MANIFEST_LIST)):
        assert m.parse_manifest(raw(doc), media_type).media_type == media_type
    assert m.parse_config(raw(CONFIG))['os'] == 'linux'
    monkeypatch.undo()
    with pytest.raises(ManifestError, match=r'at \$\.layers\[0\]\.size'):
        m.parse_manifest(raw(changed(V2S2, ['layers', 0, 'size'], 'big')), m.DOCKER_MANIFEST)


@pytest.mark.parametrize('data,expected', [
    ({'config': {'mediaType': m.OCI_CONFIG}}, None),
    ({'config': {'mediaType': 'application/vnd.cncf.helm.config.v1+json'}}, 'application/vnd.cncf.helm.config.v1+json'),
    ({'artifactType': 'application/vnd.dev.cosign.artifact.sig.v1+json', 'config': {'mediaType': m.OCI_EMPTY}},
     'application/vnd.dev.cosign.artifact.sig.v1+json'),
    ({'config': {'mediaType': m.OCI_EMPTY}}, m.OCI_EMPTY),
])
def test_artifact_type(data, expected):
    body = dict(data, schemaVersion=2, mediaType=m.OCI_MANIFEST, layers=[])
    body['config'] = dict(body['config'], digest='sha256:' + 'c' * 64, size=2)
    assert m.parse_manifest(json.dumps(body).encode(), m.OCI_MANIFEST).artifact_type == expected


def test_docker_images_indexes_and_schema1_are_no_artifacts():
    docker = {'schemaVersion': 2, 'mediaType': m.DOCKER_MANIFEST, 'layers': [],
              'config': {'mediaType': m.DOCKER_CONFIG, 'digest': 'sha256:' + 'c' * 64, 'size': 2}}
    assert m.parse_manifest(json.dumps(docker).encode(), m.DOCKER_MANIFEST).artifact_type is None
    index = {'schemaVersion': 2, 'mediaType': m.OCI_INDEX, 'manifests': []}
    assert m.parse_manifest(json.dumps(index).encode(), m.OCI_INDEX).artifact_type is None
