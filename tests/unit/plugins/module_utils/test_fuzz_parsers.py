# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property-based fuzzing of the parsers (hypothesis, pinned in tests/requirements.txt).

Each property says what must hold for every input: the parser returns a result that satisfies it, or raises the
typed error of its layer with a one-line message -- never another exception. Runs are derandomized (the same
examples every run, so CI is reproducible) and keep no example database in the tree; the example counts are small
enough for the unit run, the hostile-input corpus (test_hostile_inputs.py) holds the chosen cases.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import os
import tarfile
import tempfile

import pytest

from ansible_collections.podkit.containers.plugins.module_utils import documents
from ansible_collections.podkit.containers.plugins.module_utils.copy import transports
from ansible_collections.podkit.containers.plugins.module_utils.errors import (
    ConfigError,
    CredentialsError,
    ImageStoreError,
    InvalidReferenceError,
    ManifestError,
    NotFoundError,
    PodkitError,
    RegistryError,
)
from ansible_collections.podkit.containers.plugins.module_utils.registry import manifest as mf
from ansible_collections.podkit.containers.plugins.module_utils.registry.auth import parse_www_authenticate
from ansible_collections.podkit.containers.plugins.module_utils.registry.credentials import lookup_credentials
from ansible_collections.podkit.containers.plugins.module_utils.registry.reference import (
    parse_image_location,
    parse_reference,
)
from ansible_collections.podkit.containers.plugins.module_utils.registry.registries_conf import load_registries_conf

hypothesis = pytest.importorskip('hypothesis')
tomllib = pytest.importorskip('tomllib')
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402  (after the importorskip)

FAST = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
FILES = settings(FAST, max_examples=40)
# jsonschema judges every refused manifest: the slowest property
MANIFESTS = settings(FAST, max_examples=60)


def typed(error, *classes):
    """``error`` is one of ``classes`` with a one-line, non-empty message."""
    assert isinstance(error, classes), repr(error)
    assert error.msg.strip() and '\n' not in error.msg and '\r' not in error.msg, error.msg
    return True


SCALARS = st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
                           max_leaves=25)


def depth_of(value):
    if isinstance(value, list):
        return 1 + max([depth_of(v) for v in value] or [0])
    if isinstance(value, dict):
        return 1 + max([depth_of(v) for v in value.values()] or [0])
    return 0


# -- references -----------------------------------------------------------------------------------------------------

REFERENCE_TEXT = st.builds(
    lambda *parts: ''.join(parts),
    st.sampled_from(['', 'docker://', ' ']),
    st.sampled_from(['', 'r.example/', 'localhost:5000/', 'R.Example:99999/', '[::1]:80/', 'index.docker.io/', 'a' * 64 + '.x/',
                     'r.example:0/', 'x:y/']),
    st.from_regex(r'[a-zA-Z0-9._/:@-]{0,40}', fullmatch=True),
    st.sampled_from(['', ':1', ':latest', ':' + 'x' * 129, '@sha256:' + 'a' * 64, '@sha256:' + 'A' * 64, ':v1@sha512:' + 'b' * 128]),
) | st.text(max_size=80)


@FAST
@given(REFERENCE_TEXT)
def test_a_reference_parses_to_one_that_round_trips_or_is_refused(text):
    try:
        ref = parse_reference(text)
    except InvalidReferenceError as err:
        assert typed(err, InvalidReferenceError)
        return
    again = parse_reference(str(ref))
    assert again == ref
    assert ref.registry == ref.registry.lower() and len(ref.name) <= 255


@FAST
@given(st.sampled_from(['', 'oci:', 'oci-archive:', 'docker-archive:', 'dir:', 'docker://', 'a:', 'containers-storage:'])
       .flatmap(lambda prefix: REFERENCE_TEXT.map(lambda rest: prefix + rest)))
def test_an_image_location_parses_or_is_refused(text):
    try:
        location = parse_image_location(text)
    except InvalidReferenceError as err:
        assert typed(err, InvalidReferenceError)
        return
    assert location.transport in ('docker', 'oci', 'oci-archive', 'docker-archive', 'dir')
    assert str(location)


# -- JSON, TOML, shapes ----------------------------------------------------------------------------------------------

@FAST
@given(JSON_VALUES)
def test_json_round_trips_and_its_depth_is_exact(value):
    text = json.dumps(value)
    assert documents.nesting_depth(text, stop=1000) == depth_of(value)
    assert documents.load_json(text, 'x', documents.MANIFEST, ManifestError) == value


@FAST
@given(st.binary(max_size=200) | st.text(alphabet='[]{}",:\\ a1nNu', max_size=300))
def test_any_bytes_parse_or_are_refused(raw):
    try:
        documents.load_json(raw, 'the body', documents.ERROR_BODY, RegistryError)
    except RegistryError as err:
        assert typed(err, RegistryError) and err.msg.startswith('the body ')


@FAST
@given(st.integers(0, 200), st.integers(0, 3))
def test_the_depth_limit_is_exact(depth, shape):
    opening, closing = [('[', ']'), ('{"a":', '}'), ('[{"a":', '}]'), ('[1,', ']')][shape]
    text = opening * depth + '0' + closing * depth
    levels = depth * (2 if shape == 2 else 1)
    try:
        documents.load_json(text, 'x', documents.MANIFEST, ManifestError)
    except ManifestError as err:
        assert levels > documents.MAX_DEPTH and 'nested deeper than 64 levels' in err.msg
    else:
        assert levels <= documents.MAX_DEPTH


TOML_LINES = st.sampled_from([
    '[[registry]]', 'location = "r.example"', 'prefix = "*.example.com"', 'insecure = true', 'blocked = "x"',
    '[[registry.mirror]]', 'location = "m.example"', 'unqualified-search-registries = ["r.example"]', '[aliases]',
    '"a" = "r.example/a"', 'a = [[[[', 'a = {b = {c = 1}}', 'short-name-mode = "enforcing"', '# [[[', 'x = """[[[', '"""',
    '[registries.search]', 'registries = ["a.example"]', 'mirror = 5', 'a = ' + '[' * 80 + ']' * 80, '= 1', '[', '"',
])


@FILES
@given(st.lists(TOML_LINES, max_size=12) | st.text(max_size=100))
def test_registries_conf_loads_or_is_refused(lines):
    text = lines if isinstance(lines, str) else '\n'.join(lines) + '\n'
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'registries.conf')
        with open(path, 'w') as handle:
            handle.write(text)
        try:
            conf = load_registries_conf(path)
        except ConfigError as err:
            assert typed(err, ConfigError)
            return
        for question in (lambda: conf.pull_sources('r.example/a:1'), lambda: conf.is_insecure('m.example'),
                         lambda: conf.resolve_short_name('a')):
            try:
                question()
            except ConfigError as err:
                assert typed(err, ConfigError)


ENTRY = documents.Object(required={'digest': str}, optional={'annotations': documents.MapOf(str)})
SHAPE = documents.Object(required={'manifests': documents.ListOf(ENTRY)},
                         optional={'n': documents.Either(int, documents.Nullable(documents.ListOf(str)))})


@FAST
@given(JSON_VALUES | st.fixed_dictionaries({'manifests': st.lists(st.fixed_dictionaries({'digest': SCALARS}, optional={'annotations': JSON_VALUES}),
                                                                  max_size=3)}, optional={'n': JSON_VALUES}))
def test_check_accepts_exactly_the_shape(value):
    def fits(v):
        if not isinstance(v, dict) or not isinstance(v.get('manifests'), list):
            return False
        for entry in v['manifests']:
            if not isinstance(entry, dict) or not isinstance(entry.get('digest'), str):
                return False
            notes = entry.get('annotations', {})
            if not isinstance(notes, dict) or not all(isinstance(x, str) for x in notes.values()):
                return False
        n = v.get('n')
        return 'n' not in v or n is None or (isinstance(n, int) and not isinstance(n, bool)) or \
            (isinstance(n, list) and all(isinstance(x, str) for x in n))
    try:
        assert documents.check(value, SHAPE, 'the index', ImageStoreError) is value
        assert fits(value)
    except ImageStoreError as err:
        assert typed(err, ImageStoreError) and not fits(value) and err.details['json_path'].startswith('$')


# -- registry documents ----------------------------------------------------------------------------------------------

MANIFEST_LIKE = st.fixed_dictionaries({}, optional={
    'schemaVersion': st.sampled_from([1, 2, '2', None]),
    'mediaType': st.sampled_from([mf.OCI_MANIFEST, mf.OCI_INDEX, mf.DOCKER_MANIFEST, mf.DOCKER_MANIFEST_LIST, 'x', 5]),
    'config': JSON_VALUES | st.fixed_dictionaries({'mediaType': st.just(mf.OCI_CONFIG), 'digest': st.just('sha256:' + 'a' * 64),
                                                   'size': st.integers(-1, 10)}),
    'layers': JSON_VALUES | st.lists(st.fixed_dictionaries({'mediaType': st.just(mf.OCI_LAYER_GZIP),
                                                            'digest': st.just('sha256:' + 'b' * 64), 'size': SCALARS},
                                                           optional={'urls': JSON_VALUES, 'annotations': JSON_VALUES}), max_size=2),
    'manifests': JSON_VALUES | st.lists(st.fixed_dictionaries({'digest': st.just('sha256:' + 'c' * 64), 'size': st.just(5),
                                                               'mediaType': st.just(mf.OCI_MANIFEST)},
                                                              optional={'platform': JSON_VALUES}), max_size=2),
    'fsLayers': JSON_VALUES, 'history': JSON_VALUES, 'signatures': JSON_VALUES, 'annotations': JSON_VALUES,
})


@MANIFESTS
@given(MANIFEST_LIKE, st.sampled_from([None, mf.OCI_MANIFEST, mf.DOCKER_SCHEMA1_SIGNED, 'application/json', 'x/y\r\nz']))
def test_a_manifest_parses_or_is_refused(doc, content_type):
    try:
        manifest = mf.parse_manifest(json.dumps(doc).encode(), content_type)
    except ManifestError as err:
        assert typed(err, ManifestError)
        return
    assert isinstance(manifest.layers, list) and isinstance(manifest.manifests, list)
    assert all(isinstance(h, dict) for h in manifest.schema1_history)
    assert manifest.config is None or isinstance(manifest.config, dict)


@FAST
@given(st.text(max_size=200) | st.builds(lambda *p: ' '.join(p), st.sampled_from(['Bearer', 'Basic', 'bearer', '']),
                                         st.text(alphabet='realm=",scope\\ abc:/', max_size=60)))
def test_www_authenticate_never_raises(header):
    for challenge in parse_www_authenticate(header):
        assert challenge.scheme == challenge.scheme.lower()
        assert challenge.realm is None or isinstance(challenge.realm, str)


@FILES
@given(JSON_VALUES | st.fixed_dictionaries({'auths': st.dictionaries(st.sampled_from(['r.example', 'https://r.example/v1/']),
                                                                     JSON_VALUES, max_size=2)},
                                           optional={'credHelpers': JSON_VALUES, 'credsStore': JSON_VALUES}))
def test_an_auth_file_gives_credentials_none_or_a_typed_error(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'auth.json')
        with open(path, 'w') as handle:
            json.dump(data, handle)
        try:
            creds = lookup_credentials('r.example', auth_file=path, env={}, run_command=lambda argv, stdin: (1, b'', b'no'))
        except CredentialsError as err:
            assert typed(err, CredentialsError)
            return
        assert creds is None or all(v is None or isinstance(v, str) for v in (creds.username, creds.password, creds.identity_token))


@FILES
@given(JSON_VALUES | st.lists(st.fixed_dictionaries({'Config': st.sampled_from(['c.json', 5, None, '../x']),
                                                     'Layers': JSON_VALUES | st.just(['l.tar'])},
                                                    optional={'RepoTags': JSON_VALUES | st.just(['myorg/app:1'])}), max_size=2),
       st.sampled_from(['', ':myorg/app:1', ':docker.io/myorg/app:1', ':@0', ':@3']))
def test_a_docker_archive_opens_or_is_refused(items, name):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'x.tar')
        with tarfile.open(path, 'w') as tar:
            for member, data in (('c.json', b'{}'), ('l.tar', b'layer'), ('manifest.json', json.dumps(items).encode())):
                info = tarfile.TarInfo(member)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        try:
            source = transports.DockerArchiveSource(parse_image_location('docker-archive:' + path + name))
        except (ImageStoreError, NotFoundError, ManifestError) as err:
            assert typed(err, PodkitError)
            return
        # An archive may hold an image without layers (a config-only image): every layer it names is l.tar.
        assert all(layer['size'] == len(b'layer') for layer in source.top_manifest().layers)


@FILES
@given(JSON_VALUES | st.fixed_dictionaries({'manifests': JSON_VALUES | st.lists(
    st.fixed_dictionaries({'digest': st.sampled_from(['sha256:' + 'a' * 64, 5, 'x'])},
                          optional={'annotations': JSON_VALUES, 'mediaType': JSON_VALUES, 'size': JSON_VALUES}), max_size=2)}),
       st.sampled_from(['', ':v1']))
def test_an_oci_layout_opens_or_is_refused(index, name):
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, 'index.json'), 'w') as handle:
            json.dump(index, handle)
        try:
            transports.OCILayoutSource(parse_image_location('oci:' + tmp + name)).top_manifest()
        except (ImageStoreError, NotFoundError, ManifestError) as err:
            assert typed(err, PodkitError)
