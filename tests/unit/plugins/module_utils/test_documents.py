# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.podkit.containers.plugins.module_utils import documents as docs
from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError, ManifestError

tomllib = pytest.importorskip('tomllib')
yaml = pytest.importorskip('yaml')

WHAT = 'the manifest of registry.example/app:1'


def _json_error(raw, kind=docs.MANIFEST):
    with pytest.raises(ManifestError) as info:
        docs.load_json(raw, WHAT, kind, ManifestError, registry='registry.example')
    assert info.value.details.get('registry') == 'registry.example'
    assert '\n' not in info.value.msg
    assert info.value.msg.startswith(WHAT + ' ')
    return info.value.msg


@pytest.mark.parametrize('raw, message', [
    (b'[' * 400000, 'is nested deeper than 64 levels; refusing to parse it'),
    (b'{"a":' * 100000, 'is nested deeper than 64 levels'),
    (b'[' * 65 + b']' * 65, 'is nested deeper than 64 levels'),
    (b'{"a": [1, 2', 'is not valid JSON at line 1, column 12'),
    (b'', 'is not valid JSON: it is empty'),
    (b'   \n', 'is not valid JSON: it is empty'),
    (b'NaN', 'NaN is not a JSON value'),
    (b'[Infinity]', 'Infinity is not a JSON value'),
    (b'\xff\xfe{}', 'is not UTF-8 text (invalid byte at offset 0)'),
    (b' ' * (4 * 1024 * 1024 + 1), 'is larger than 4 MiB (4194305 bytes)'),
])
def test_load_json_refuses(raw, message):
    assert message in _json_error(raw)


def test_depth_limit_is_inclusive_and_ignores_brackets_in_strings():
    assert docs.load_json(b'[' * 64 + b']' * 64, WHAT, docs.MANIFEST, ManifestError) is not None
    text = json.dumps({'a': '[' * 1000, 'b': '{\\"' * 100})
    assert docs.load_json(text, WHAT, docs.MANIFEST, ManifestError)['a'] == '[' * 1000


def test_nesting_depth_is_an_exact_count_up_to_the_limit():
    assert docs.nesting_depth('[1,[2,[3]],{"a":{"b":[]}}]' * 40) == 4
    assert docs.nesting_depth('[' * 10 + '"' + '[' * 100) == 10  # an unterminated string hides what follows
    assert docs.nesting_depth('[' * 100000) > docs.MAX_DEPTH
    assert docs.nesting_depth('[]' * 100000) == 1


def test_the_message_never_quotes_the_document():
    secret = 'hunter2-secret-token'
    msg = _json_error(('{"token": "%s", ' % secret).encode('ascii'), docs.TOKEN)
    assert secret not in msg


def test_what_with_control_characters_stays_one_line():
    with pytest.raises(ConfigError) as info:
        docs.load_json(b'x', 'auth file /tmp/a\nb', docs.AUTH_FILE, ConfigError)
    assert info.value.msg.startswith('auth file /tmp/a\\x0ab is not valid JSON')


@pytest.mark.parametrize('text, message', [
    ('a = \nb = 1', 'is not valid TOML at line 1, column 5: invalid value'),
    ('a = "x', 'is not valid TOML at the end of the document: unterminated string'),
    ('a = ' + '[' * 400000, 'is nested deeper than 64 levels'),
    ('a = ' + '{b = ' * 100000, 'is nested deeper than 64 levels'),
])
def test_load_toml_refuses(text, message):
    with pytest.raises(ConfigError) as info:
        docs.load_toml(text, 'registries.conf /etc/x', docs.REGISTRIES_CONF, tomllib, ConfigError, path='/etc/x')
    assert message in info.value.msg
    assert info.value.details['path'] == '/etc/x'


def test_toml_brackets_in_strings_and_comments_do_not_count():
    text = '[[registry]]\nprefix = "a[[[[[["\nlocation = \'b{{{{\'\n# [[[[[[[[\nx = """\n[[[[[[\n"""\n'
    data = docs.load_toml(text, 'r', docs.Kind('r', 1000, max_depth=3), tomllib, ConfigError)
    assert data['registry'][0]['prefix'] == 'a[[[[[['


@pytest.mark.parametrize('text, message', [
    ('- ' * 100000 + 'x', 'is nested deeper than 64 levels'),
    ('[' * 100000, 'is nested deeper than 64 levels'),
    ('a: [1, 2', 'is not valid YAML at line 1, column 9'),
])
def test_load_yaml_refuses(text, message):
    with pytest.raises(ConfigError) as info:
        docs.load_yaml(text, 'registries.d file /etc/x.yaml', docs.REGISTRIES_D, yaml, ConfigError)
    assert message in info.value.msg


def test_load_yaml_parses_the_ordinary():
    assert docs.load_yaml('docker:\n  a.example:\n    lookaside: https://x\n', 'f', docs.REGISTRIES_D, yaml) == \
        {'docker': {'a.example': {'lookaside': 'https://x'}}}


ENTRY = docs.Object(required={'digest': str}, optional={'annotations': docs.MapOf(str)})
INDEX = docs.Object(required={'manifests': docs.ListOf(ENTRY)})


@pytest.mark.parametrize('value, message', [
    ({'manifests': 'x'}, '$.manifests must be a list of objects with digest: a string, not a string'),
    ({'manifests': ['x']}, '$.manifests[0] must be an object with digest: a string, not a string'),
    ({}, '$.manifests is missing (expected a list of objects with digest: a string)'),
    ({'manifests': [{'digest': 1}]}, '$.manifests[0].digest must be a string, not an integer'),
    ({'manifests': [{'digest': 'a', 'annotations': []}]}, '$.manifests[0].annotations must be an object of strings, not a list'),
    ({'manifests': [{'digest': 'a', 'annotations': {'a b': None}}]}, '$.manifests[0].annotations["a b"] must be a string, not null'),
    ([], 'the document must be an object with manifests'),
])
def test_check_names_the_path_and_the_types(value, message):
    with pytest.raises(ConfigError) as info:
        docs.check(value, INDEX, 'index.json of oci:/x', ConfigError)
    assert info.value.msg.startswith('index.json of oci:/x is not valid: ')
    assert message in info.value.msg


@pytest.mark.parametrize('shape, value, ok', [
    (int, True, False),
    (int, 3, True),
    (float, 3, True),
    (bool, 0, False),
    (docs.Nullable(str), None, True),
    (docs.Either(str, docs.ListOf(str)), ['a'], True),
    (docs.Either(str, docs.ListOf(str)), [1], False),
    (docs.ANY, object(), True),
])
def test_check_types(shape, value, ok):
    if ok:
        assert docs.check(value, shape, 'x', ConfigError) is value
    else:
        with pytest.raises(ConfigError):
            docs.check(value, shape, 'x', ConfigError)
