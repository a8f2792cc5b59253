# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""policy.json parsing and registries.d matching."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError, FileWriteError
from ansible_collections.podkit.containers.plugins.module_utils.options import RegistryOptions
from ansible_collections.podkit.containers.plugins.module_utils.registry.reference import parse_reference
from ansible_collections.podkit.containers.plugins.module_utils.signatures import registries_d as rd
from ansible_collections.podkit.containers.plugins.module_utils.signatures.policy import Policy, requires_verification

DIGEST = 'sha256:' + '12' * 32


def ref(text):
    return parse_reference(text, default_tag=None)


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / 'key.gpg'
    path.write_bytes(b'not really a key, parsing does not look inside')
    return str(path)


def policy(data, tmp_path):
    path = tmp_path / 'policy.json'
    path.write_text(json.dumps(data))
    return Policy.load(str(path))


def test_scopes_longest_match(tmp_path, key_file):
    p = policy({
        'default': [{'type': 'reject'}],
        'transports': {'docker': {
            'r.example:5000': [{'type': 'insecureAcceptAnything'}],
            'r.example:5000/team': [{'type': 'signedBy', 'keyType': 'GPGKeys', 'keyPath': key_file}],
            'r.example:5000/team/app:1': [{'type': 'sigstoreSigned', 'keyData': base64.b64encode(b'PEM').decode()}],
            '*.example.org': [{'type': 'insecureAcceptAnything'}],
        }},
    }, tmp_path)
    assert p.requirements_for(ref('r.example:5000/team/app:1'))[0] == 'r.example:5000/team/app:1'
    assert p.requirements_for(ref('r.example:5000/team/app:2'))[0] == 'r.example:5000/team'
    assert p.requirements_for(ref('r.example:5000/other/app:2'))[0] == 'r.example:5000'
    assert p.requirements_for(ref('q.example.org/x:1'))[0] == '*.example.org'
    scope, reqs = p.requirements_for(ref('elsewhere.io/x:1'))
    assert scope == 'default' and reqs[0].type == 'reject'
    signed = p.requirements_for(ref('r.example:5000/team/x:1'))[1][0]
    assert signed.type == 'signedBy' and signed.identity == {'type': 'matchRepoDigestOrExact'} and signed.keys[0][0] == key_file
    assert requires_verification(p, ref('r.example:5000/team/x:1'))
    assert not requires_verification(p, ref('r.example:5000/other/x:1'))
    assert not requires_verification(None, ref('r.example:5000/other/x:1'))


def test_transport_default_scope(tmp_path):
    p = policy({'default': [{'type': 'reject'}], 'transports': {'docker': {'': [{'type': 'insecureAcceptAnything'}]}}}, tmp_path)
    assert p.requirements_for(ref('x.example/y:1'))[0] == ''


@pytest.mark.parametrize('data, message', [
    ({}, 'no "default"'),
    ({'default': []}, 'non-empty list'),
    ({'default': [{'type': 'acceptSomething'}]}, 'unknown requirement type'),
    ({'default': [{'type': 'reject', 'keyPath': '/x'}]}, 'takes no other members'),
    ({'default': [{'type': 'signedBy', 'keyType': 'X509Certificates', 'keyPath': '/x'}]}, 'keyType'),
    ({'default': [{'type': 'signedBy', 'keyType': 'GPGKeys'}]}, 'exactly one of keyPath'),
    ({'default': [{'type': 'signedBy', 'keyType': 'GPGKeys', 'keyPath': '/nonexistent/key.gpg'}]}, 'cannot read key file'),
    ({'default': [{'type': 'signedBy', 'keyType': 'GPGKeys', 'keyData': '***'}]}, 'base64'),
    ({'default': [{'type': 'signedBy', 'keyType': 'GPGKeys', 'keyData': 'QQ==', 'signedIdentity': {'type': 'matchAnything'}}]},
     'signedIdentity type'),
    ({'default': [{'type': 'signedBy', 'keyType': 'GPGKeys', 'keyData': 'QQ==', 'signedIdentity': {'type': 'exactReference'}}]},
     'needs dockerReference'),
    ({'default': [{'type': 'sigstoreSigned', 'fulcio': {}}]}, 'fulcio'),
    ({'default': [{'type': 'sigstoreSigned', 'keyData': 'QQ==', 'colour': 'red'}]}, 'does not take colour'),
    ({'default': [{'type': 'signedBaseLayer'}]}, 'not supported'),
    ({'default': [{'type': 'reject'}], 'extra': 1}, 'unknown member'),
])
def test_policy_errors(tmp_path, data, message):
    with pytest.raises(ConfigError, match=message):
        policy(data, tmp_path)


def test_policy_not_json(tmp_path):
    path = tmp_path / 'policy.json'
    path.write_text('{')
    with pytest.raises(ConfigError, match='not valid JSON'):
        Policy.load(str(path))
    with pytest.raises(ConfigError, match='cannot read'):
        Policy.load(str(tmp_path / 'missing.json'))


def write(directory, name, text):
    directory.mkdir(exist_ok=True)
    (directory / name).write_text(text)


def test_registries_d_matching(tmp_path):
    d = tmp_path / 'registries.d'
    write(d, 'default.yaml', 'default-docker:\n  lookaside: file:///srv/sigs\n')
    write(d, 'team.yaml', 'docker:\n'
                          '  r.example:5000/team:\n    lookaside: https://sigs.example/team\n    lookaside-staging: file:///stage/team\n'
                          '  r.example:5000/team/app:\n    use-sigstore-attachments: true\n'
                          '  r.example:5000:\n    sigstore: file:///legacy\n'
                          '  "*.example.org":\n    lookaside: file:///wild\n')
    conf = rd.RegistriesD.load(str(d))
    app = ref('r.example:5000/team/app:1')
    assert conf.lookaside_read(app) == 'https://sigs.example/team'
    assert conf.lookaside_write(app) == 'file:///stage/team'
    assert conf.use_sigstore_attachments(app) is True
    assert conf.use_sigstore_attachments(ref('r.example:5000/team/other:1')) is False
    assert conf.lookaside_read(ref('r.example:5000/x:1')) == 'file:///legacy'
    assert conf.lookaside_read(ref('elsewhere.io/x:1')) == 'file:///srv/sigs'
    assert conf.lookaside_read(ref('a.b.example.org/x:1')) == 'file:///wild'
    assert rd.signature_dir_url('file:///srv/sigs/', app, DIGEST) == 'file:///srv/sigs/team/app@sha256=' + '12' * 32


def test_registries_d_builtin_default(tmp_path):
    conf = rd.RegistriesD.load(str(tmp_path / 'absent'))
    assert conf.lookaside_read(ref('r.example/x:1')) == rd.builtin_lookaside()


@pytest.mark.parametrize('text, message', [
    ('default-docker:\n  lookaside: file:///a\n---x: [', 'not valid YAML'),
    ('docker:\n  r.example:\n    lookaside: 5\n', 'must be a URL'),
    ('docker:\n  r.example:\n    colour: red\n', 'unknown key'),
    ('mirrors: {}\n', 'unknown top-level'),
    ('docker:\n  r.example:\n    use-sigstore-attachments: "yes"\n', 'true or false'),
])
def test_registries_d_errors(tmp_path, text, message):
    write(tmp_path / 'd', 'a.yaml', text)
    with pytest.raises(ConfigError, match=message):
        rd.RegistriesD.load(str(tmp_path / 'd'))


def test_registries_d_duplicates(tmp_path):
    write(tmp_path / 'd', 'a.yaml', 'default-docker:\n  lookaside: file:///a\n')
    write(tmp_path / 'd', 'b.yaml', 'default-docker:\n  lookaside: file:///b\n')
    with pytest.raises(ConfigError, match='more than one file'):
        rd.RegistriesD.load(str(tmp_path / 'd'))


def test_lookaside_write_and_read(tmp_path):
    base = 'file://' + str(tmp_path / 'sigs')
    image = ref('r.example/team/app:1')
    assert rd.read_signatures(base, image, DIGEST) == []
    written = rd.write_signatures(base, image, DIGEST, [b'one', b'two', b'one'])
    assert [os.path.basename(p) for p in written] == ['signature-1', 'signature-2']
    assert rd.write_signatures(base, image, DIGEST, [b'two', b'three'])[0].endswith('signature-3')
    assert rd.read_signatures(base, image, DIGEST) == [b'one', b'two', b'three']


def test_lookaside_not_writable(tmp_path):
    (tmp_path / 'a-file').write_text('x')
    with pytest.raises(FileWriteError, match='not writable'):
        rd.check_writable('file://' + str(tmp_path / 'a-file' / 'sigs'), ref('r.example/a:1'), DIGEST)
    locked = tmp_path / 'locked'
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(str(locked), os.W_OK):
            pytest.skip('running as a user who may write anywhere')
        with pytest.raises(FileWriteError, match='not writable'):
            rd.check_writable('file://' + str(locked), ref('r.example/a:1'), DIGEST)
    finally:
        locked.chmod(0o700)
    with pytest.raises(ConfigError, match='only file://'):
        rd.check_writable('https://sigs.example', ref('r.example/a:1'), DIGEST)


# -- http(s) lookaside ---------------------------------------------------------------------------------------------

FLAKY = {}


@pytest.fixture
def web(tmp_path):
    """A real HTTP server on 127.0.0.1 serving ``tmp_path/www``; /broken/* answers 500; /flaky/<path> answers the
    statuses queued in FLAKY[<path>] first, then serves the file."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    FLAKY.clear()

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            if self.path.startswith('/broken/'):
                self.send_error(500)
                return
            if self.path.startswith('/flaky/'):
                queued = FLAKY.get(self.path[len('/flaky'):])
                if queued:
                    self.send_error(queued.pop(0))
                    return
                self.path = self.path[len('/flaky'):]
            SimpleHTTPRequestHandler.do_GET(self)

        def log_message(self, *args):
            pass

    root = tmp_path / 'www'
    root.mkdir()
    server = ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, 'http://127.0.0.1:%d' % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_web_lookaside_reads_until_the_first_404(web):
    root, url = web
    image = ref('r.example/team/app:1')
    rd.write_signatures('file://' + str(root / 'sigs'), image, DIGEST, [b'one', b'two'])
    getter = rd.WebLookaside(RegistryOptions())
    assert rd.read_signatures(url + '/sigs', image, DIGEST, http_get=getter) == [b'one', b'two']
    assert getter.requests == 3
    assert rd.read_signatures(url + '/nothing', image, DIGEST, http_get=rd.WebLookaside()) == []
    with pytest.raises(ConfigError, match='not possible here'):
        rd.read_signatures(url + '/sigs', image, DIGEST)


def test_web_lookaside_retries_transient_failures(web):
    from ansible_collections.podkit.containers.plugins.module_utils.errors import RegistryError
    root, url = web
    image = ref('r.example/team/app:1')
    rd.write_signatures('file://' + str(root / 'sigs'), image, DIGEST, [b'one'])
    first = '/sigs/team/app@sha256=%s/signature-1' % DIGEST.split(':')[1]
    FLAKY[first] = [503, 502]
    slept = []
    getter = rd.WebLookaside(RegistryOptions(), sleep=slept.append)
    assert rd.read_signatures(url + '/flaky/sigs', image, DIGEST, http_get=getter) == [b'one']
    assert getter.requests == 4 and slept == [0.5, 1.0]  # 503, 502, the signature, the 404 after it
    # Out of retries: the last answer is the error; 404 (the end of the list) is never retried.
    FLAKY[first] = [503] * 3
    getter = rd.WebLookaside(RegistryOptions(retries=2), sleep=slept.append)
    with pytest.raises(RegistryError, match='answered HTTP 503'):
        rd.read_signatures(url + '/flaky/sigs', image, DIGEST, http_get=getter)
    assert getter.requests == 3


def test_web_lookaside_errors_hide_credentials(web):
    from ansible_collections.podkit.containers.plugins.module_utils.errors import RegistryError, RegistryUnreachableError
    from ansible_collections.podkit.containers.plugins.module_utils.signatures.verify import list_signatures
    dummy, url = web
    image = ref('r.example/team/app:1')
    broken = url.replace('http://', 'http://user:pw-SECRET@') + '/broken'
    slept = []
    getter = rd.WebLookaside(sleep=slept.append)
    with pytest.raises(RegistryError) as err:
        rd.read_signatures(broken, image, DIGEST, http_get=getter)
    assert 'answered HTTP 500' in err.value.msg and 'SECRET' not in err.value.msg
    assert getter.requests == 4 and slept == [0.5, 1.0, 2.0]
    getter = rd.WebLookaside(RegistryOptions(timeout=5), sleep=slept.append)
    with pytest.raises(RegistryUnreachableError, match='cannot read the lookaside http://127.0.0.1:9/'):
        rd.read_signatures('http://u:SECRET@127.0.0.1:9', image, DIGEST, http_get=getter)
    assert getter.requests == 4

    class Registries(object):
        directory = None

        def lookaside_read(self, r):
            return broken

        def use_sigstore_attachments(self, r):
            return False

    listed = list_signatures(image, DIGEST, None, Registries(), http_get=rd.WebLookaside(sleep=slept.append))
    assert len(listed) == 1 and 'answered HTTP 500' in listed[0]['error'] and 'SECRET' not in listed[0]['error']
