# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.registry.reference import parse_reference
from ansible_collections.podkit.containers.plugins.module_utils.signatures import payload as pl

DIGEST = 'sha256:' + 'ab' * 32
OTHER = 'sha256:' + 'cd' * 32


def test_simple_payload_layout():
    raw = pl.build(pl.SIMPLE_TYPE, DIGEST, 'registry.example.com/team/app:1.4', timestamp=1700000000)
    assert raw == (b'{"critical":{"identity":{"docker-reference":"registry.example.com/team/app:1.4"},'
                   b'"image":{"docker-manifest-digest":"' + DIGEST.encode() + b'"},"type":"atomic container signature"},'
                   b'"optional":{"creator":"podkit.containers","timestamp":1700000000}}')
    parsed = pl.parse(raw, pl.SIMPLE_TYPE)
    assert (parsed.digest, parsed.identity, parsed.optional['timestamp']) == (DIGEST, 'registry.example.com/team/app:1.4', 1700000000)


def test_sigstore_payload_type():
    raw = pl.build(pl.SIGSTORE_TYPE, DIGEST, 'r.example/a:1')
    assert json.loads(raw)['critical']['type'] == 'cosign container image signature'
    with pytest.raises(pl.PayloadError, match='expected'):
        pl.parse(raw, pl.SIMPLE_TYPE)


@pytest.mark.parametrize('mutate, message', [
    (lambda d: d.pop('critical'), 'no "critical"'),
    (lambda d: d.update(extra=1), 'unknown top-level'),
    (lambda d: d['critical'].update(extra=1), 'unknown "critical"'),
    (lambda d: d['critical']['image'].update({'docker-manifest-digest': 'nope'}), 'docker-manifest-digest'),
    (lambda d: d['critical']['identity'].update({'docker-reference': ''}), 'docker-reference'),
    (lambda d: d['critical']['image'].update(more=1), 'docker-manifest-digest'),
    (lambda d: d.update(optional=[]), 'optional'),
])
def test_malformed_payloads(mutate, message):
    data = json.loads(pl.build(pl.SIMPLE_TYPE, DIGEST, 'r.example/a:1'))
    mutate(data)
    with pytest.raises(pl.PayloadError, match=message):
        pl.parse(json.dumps(data).encode(), pl.SIMPLE_TYPE)


def test_not_json():
    with pytest.raises(pl.PayloadError, match='is not valid JSON'):
        pl.parse(b'\x00\x01', pl.SIMPLE_TYPE)


def ref(text):
    return parse_reference(text, default_tag=None)


@pytest.mark.parametrize('rule, intended, signed, expected', [
    ({'type': 'matchRepoDigestOrExact'}, 'r.example/a:1', 'r.example/a:1', True),
    ({'type': 'matchRepoDigestOrExact'}, 'r.example/a:1', 'r.example/a:2', False),
    ({'type': 'matchRepoDigestOrExact'}, 'r.example/a@' + DIGEST, 'r.example/a:7', True),
    ({'type': 'matchRepoDigestOrExact'}, 'r.example/a@' + DIGEST, 'r.example/b:7', False),
    ({'type': 'matchRepoDigestOrExact'}, 'busybox:1', 'docker.io/library/busybox:1', True),
    ({'type': 'matchExact'}, 'r.example/a:1', 'r.example/a:1', True),
    ({'type': 'matchExact'}, 'r.example/a@' + DIGEST, 'r.example/a:1', False),
    ({'type': 'matchExact'}, 'r.example/a', 'r.example/a', False),
    ({'type': 'matchRepository'}, 'r.example/a:1', 'r.example/a:9', True),
    ({'type': 'matchRepository'}, 'r.example/a:1', 'r.example/ab:1', False),
    ({'type': 'exactReference', 'dockerReference': 'q.example/x:2'}, 'r.example/a:1', 'q.example/x:2', True),
    ({'type': 'exactReference', 'dockerReference': 'q.example/x:2'}, 'r.example/a:1', 'q.example/x:3', False),
    ({'type': 'exactRepository', 'dockerRepository': 'q.example/x'}, 'r.example/a:1', 'q.example/x:3', True),
    ({'type': 'remapIdentity', 'prefix': 'mirror.example/m', 'signedPrefix': 'r.example/team'},
     'mirror.example/m/app:1', 'r.example/team/app:1', True),
    ({'type': 'remapIdentity', 'prefix': 'mirror.example/m', 'signedPrefix': 'r.example/team'},
     'mirror.example/mx/app:1', 'r.example/team/app:1', False),
    ({'type': 'matchRepoDigestOrExact'}, 'r.example/a:1', 'NOT A REFERENCE', False),
])
def test_identity_matching(rule, intended, signed, expected):
    assert pl.identity_matches(rule, ref(intended), signed) is expected
