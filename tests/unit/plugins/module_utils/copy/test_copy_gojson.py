# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.copy import gojson
from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError

# (Docker config as pushed, the OCI config skopeo 1.9.3 wrote for it with `skopeo copy --format oci`), measured
# against a distribution 2.8.2 registry. DIFF_ID stands for the layer's diff id in both.
GOLDEN = [
    ('{"ARCHITECTURE":"arm64","Os":"linux","created":"2021-05-06T7:08:09,123450000+00:00","container_config":{"Cmd":["x"]},'
     '"config":{"env":["A=1"],"ENTRYPOINT":null,"Cmd":[],"Labels":{},"ArgsEscaped":true,"Healthcheck":{"Test":["x"]},'
     '"ExposedPorts":{"80/tcp":{},"443/tcp":null},"Volumes":{"/v":{"a":1}}},"rootfs":{"type":"layers","diff_ids":["DIFF_ID"]},'
     '"docker_version":"20.10"}',
     '{"created":"2021-05-06T07:08:09.12345Z","architecture":"arm64","os":"linux","config":{"ExposedPorts":{"443/tcp":{},'
     '"80/tcp":{}},"Env":["A=1"],"Volumes":{"/v":{}},"ArgsEscaped":true},"rootfs":{"type":"layers","diff_ids":["DIFF_ID"]}}'),
    (u'{"architecture":"amd64","os":"linux","created":"2021-05-06T17:08:09.1234567891234+02:00","author":"a<b>&c \u2028 '
     u'\\u0001 \\t\\n \xe9 \\ud800","rootfs":{"type":"layers","diff_ids":["DIFF_ID"]},"history":[null,{"created":'
     u'"2000-02-29T00:00:00-00:00","empty_layer":true,"comment":"c","extra":1}]}',
     u'{"created":"2021-05-06T17:08:09.123456789+02:00","author":"a\\u003cb\\u003e\\u0026c \\u2028 \\u0001 \\t\\n \xe9 '
     u'\ufffd","architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["DIFF_ID"]},'
     u'"history":[{},{"created":"2000-02-29T00:00:00Z","comment":"c","empty_layer":true}]}'),
    (u'{"architecture":"amd64","os":"linux","config":{"Env":["A","B","C"],"Labels":{"b":"1","a":null}},"config":{"Env":'
     u'["X",null]},"rootfs":{"diff_ids":["DIFF_ID"]},"\u212author":"kelvin"}',
     '{"architecture":"amd64","os":"linux","config":{"Env":["X","B"],"Labels":{"a":"","b":"1"}},"rootfs":{"type":"",'
     '"diff_ids":["DIFF_ID"]}}'),
]


@pytest.mark.parametrize('docker,oci', GOLDEN)
def test_oci_config_as_skopeo_writes_it(docker, oci):
    assert gojson.round_trip(gojson.OCI_IMAGE_CONFIG, docker.encode('utf-8')) == oci.encode('utf-8')


# Each of these made skopeo 1.9.3 fail the conversion ("cannot unmarshal ...", "month out of range", ...).
@pytest.mark.parametrize('config,path', [
    ('{"architecture":5,"os":"linux"}', '$.architecture'),
    ('{"architecture":"amd64","os":"linux","created":"2021-13-01T00:00:00Z"}', '$.created'),
    ('{"architecture":"amd64","os":"linux","created":"2021-02-29T00:00:00Z"}', '$.created'),
    ('{"architecture":"amd64","os":"linux","created":"2021-01-01t00:00:00Z"}', '$.created'),
    ('{"architecture":"amd64","os":"linux","config":{"Env":"A=1"}}', '$.config.Env'),
    ('{"architecture":"amd64","os":"linux","history":[{"empty_layer":"yes"}]}', '$.history[0].empty_layer'),
    ('{"architecture":"amd64","os":"linux","config":{"ExposedPorts":{"80/tcp":"x"}}}', '$.config.ExposedPorts.80/tcp'),
    ('[]', '$'),
])
def test_wrong_types_are_refused(config, path):
    with pytest.raises(gojson.GoTypeError) as err:
        gojson.round_trip(gojson.OCI_IMAGE_CONFIG, config.encode('utf-8'))
    assert err.value.path == path


@pytest.mark.parametrize('text', ['{"a":NaN}', '{"a":1', '{"a":1} x', '[' * 100000, b'{"a":"\xff"}'])
def test_invalid_json_is_refused(text):
    with pytest.raises(ConfigError, match='^the config '):
        gojson.loads(text, 'the config')


@pytest.mark.parametrize('given,written', [
    ('2020-01-02T03:04:05Z', '2020-01-02T03:04:05Z'),
    ('2020-01-02T03:04:05.100000000Z', '2020-01-02T03:04:05.1Z'),
    ('2020-01-02T03:04:05.000Z', '2020-01-02T03:04:05Z'),
    ('2020-01-02T03:04:05+00:00', '2020-01-02T03:04:05Z'),
    ('2020-01-02T03:04:05-05:30', '2020-01-02T03:04:05-05:30'),
    ('0001-01-01T00:00:00Z', '0001-01-01T00:00:00Z'),
])
def test_timestamps(given, written):
    value = gojson.decode(gojson.OCI_IMAGE_CONFIG, gojson.loads('{"created":"%s"}' % given))
    assert value['created'] == written


def test_index_struct_drops_unknown_members_and_keeps_order():
    raw = (b'{"manifests":[{"size":3,"digest":"sha256:x","mediaType":"m","platform":{"os":"linux","architecture":"arm64",'
           b'"variant":"v8","x":1}}],"schemaVersion":2,"subject":{"digest":"d","size":1}}')
    assert gojson.round_trip(gojson.OCI_INDEX, raw) == (
        b'{"schemaVersion":2,"manifests":[{"mediaType":"m","digest":"sha256:x","size":3,"platform":{"architecture":"arm64",'
        b'"os":"linux","variant":"v8"}}]}')


def test_docker_list_struct_order():
    raw = b'{"mediaType":"l","schemaVersion":2,"manifests":[{"digest":"d","size":1,"mediaType":"m","platform":{}}]}'
    assert gojson.round_trip(gojson.SCHEMA2_LIST, raw) == (
        b'{"schemaVersion":2,"mediaType":"l","manifests":[{"mediaType":"m","size":1,"digest":"d",'
        b'"platform":{"architecture":"","os":""}}]}')


def test_bytes_and_integers():
    raw = b'{"digest":"d","size":12,"data":"aGk="}'
    assert gojson.round_trip(gojson.OCI_DESCRIPTOR, raw) == b'{"digest":"d","size":12,"data":"aGk="}'
    for bad in (b'{"size":1.5}', b'{"size":true}', b'{"size":9223372036854775808}', b'{"data":"a"}'):
        with pytest.raises(gojson.GoTypeError):
            gojson.round_trip(gojson.OCI_DESCRIPTOR, bad)
