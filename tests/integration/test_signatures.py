"""Image signatures against real registries, skopeo 1.9.3, podman 4.3.1 and gpg: sign with image_copy, verify with
image_pull, and the other way round.

Keys are made here: a GPG key with a passphrase in a temporary GNUPGHOME (gpg-agent caches nothing, so a wrong
passphrase really is wrong), sigstore P-256 key pairs with ``cryptography`` (plain PEM and the encrypted sigstore
format). Debian 12's skopeo 1.9.3 has sigstore disabled ("Debian-local change: sigstore disabled"): there sigstore
signatures are checked by this collection on both ends, and that refusal is asserted as it is. Debian 13's skopeo 1.18
has sigstore (scripts/test.sh runs these tests there too): there skopeo must accept image_copy's sigstore signatures
and refuse an unsigned image, and image_pull and container_state must accept skopeo's.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import json
import os
import subprocess
import sys
import uuid

import pytest
import requests

from images import import_rootfs, push
from tools import podman, run, secret_scan

# The staged collection (tests run in .../ansible_collections/podkit/containers): its signature helpers make test keys.
_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', '..'))
if os.path.isdir(os.path.join(_ROOT, 'ansible_collections')) and _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

GPG_PASSPHRASE = 'podkit-gpg-%s' % uuid.uuid4().hex[:12]
SIGSTORE_PASSPHRASE = 'podkit-sig-%s' % uuid.uuid4().hex[:12]
ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'


class Keys:
    pass


@pytest.fixture(scope='module')
def keys(tmp_path_factory):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from ansible_collections.podkit.containers.plugins.module_utils.signatures.keys import public_pem
    from ansible_collections.podkit.containers.plugins.module_utils.signatures.private_keys import encrypt_private_key
    base = tmp_path_factory.mktemp('sigkeys')
    k = Keys()
    k.dir = str(base)
    k.gnupg = str(base / 'gnupg')
    os.mkdir(k.gnupg, 0o700)
    with open(os.path.join(k.gnupg, 'gpg-agent.conf'), 'w') as f:
        f.write('default-cache-ttl 0\nmax-cache-ttl 0\n')
    k.passphrase_file = str(base / 'gpg-pass')
    with open(k.passphrase_file, 'w') as f:
        f.write(GPG_PASSPHRASE + '\n')
    env = {'GNUPGHOME': k.gnupg}
    run(['gpg', '--batch', '--pinentry-mode', 'loopback', '--passphrase-file', k.passphrase_file, '--quick-gen-key',
         'Podkit Signing <sign@example.com>', 'ed25519', 'sign', 'never'], env=env)
    out = run(['gpg', '--batch', '--list-keys', '--with-colons'], env=env).stdout
    k.fingerprint = [line.split(':')[9] for line in out.splitlines() if line.startswith('fpr')][0]
    k.gpg_public = str(base / 'signing-pub.gpg')
    with open(k.gpg_public, 'wb') as f:
        f.write(subprocess.run(['gpg', '--batch', '--export', k.fingerprint], env=dict(os.environ, **env),
                               stdout=subprocess.PIPE, check=True).stdout)
    k.wrong_passphrase_file = str(base / 'wrong-pass')
    with open(k.wrong_passphrase_file, 'w') as f:
        f.write('not-the-passphrase\n')
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    k.sigstore_key = str(base / 'sigstore.key')
    with open(k.sigstore_key, 'w') as f:
        f.write(encrypt_private_key(der, SIGSTORE_PASSPHRASE.encode()))
    k.sigstore_pass = str(base / 'sigstore-pass')
    with open(k.sigstore_pass, 'w') as f:
        f.write(SIGSTORE_PASSPHRASE)
    k.sigstore_pub = str(base / 'sigstore.pub')
    with open(k.sigstore_pub, 'wb') as f:
        f.write(public_pem(key))
    plain = ec.generate_private_key(ec.SECP256R1())
    k.plain_key = str(base / 'plain.key')
    with open(k.plain_key, 'wb') as f:
        f.write(plain.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    k.other_pub = str(base / 'other.pub')
    with open(k.other_pub, 'wb') as f:
        f.write(public_pem(plain))
    yield k
    # gpg started an agent for this GNUPGHOME: stop it with the keys.
    run(['gpgconf', '--kill', 'gpg-agent'], env=env, check=False)


class Setup:
    """registries.d (lookaside + sigstore attachments) and policies for one registry, in a HOME podman reads."""

    def __init__(self, base, registry, keys):
        self.base = str(base)
        self.registry = registry
        self.home = os.path.join(self.base, 'home')
        self.registries_d = os.path.join(self.home, '.config', 'containers', 'registries.d')
        os.makedirs(self.registries_d)
        self.lookaside = os.path.join(self.base, 'lookaside')
        with open(os.path.join(self.registries_d, 'podkit.yaml'), 'w') as f:
            f.write('docker:\n  %s:\n    lookaside: file://%s\n    use-sigstore-attachments: true\n' % (registry.host, self.lookaside))
        self.gpg_policy = self.policy('gpg', [{'type': 'signedBy', 'keyType': 'GPGKeys', 'keyPath': keys.gpg_public}])
        self.sigstore_policy = self.policy('sigstore', [{'type': 'sigstoreSigned', 'keyPath': keys.sigstore_pub}])
        self.plain_policy = self.policy('plain', [{'type': 'sigstoreSigned', 'keyPath': keys.other_pub}])
        self.reject_policy = self.policy('reject', [{'type': 'reject'}])

    def policy(self, name, requirements):
        path = os.path.join(self.base, 'policy-%s.json' % name)
        with open(path, 'w') as f:
            json.dump({'default': [{'type': 'insecureAcceptAnything'}],
                       'transports': {'docker': {self.registry.host: requirements}}}, f)
        return path

    def skopeo_copy(self, ref, policy, check=True):
        target = os.path.join(self.base, 'out-%s' % uuid.uuid4().hex[:8])
        return run(['skopeo', '--policy', policy, '--registries.d', self.registries_d, 'copy', '-q', '--src-tls-verify=false',
                    'docker://' + ref, 'dir:' + target], check=check)

    def podman_pull(self, ref, policy, check=True):
        proc = podman('pull', '-q', '--signature-policy', policy, '--tls-verify=false', ref, env={'HOME': self.home}, check=check)
        if proc.returncode == 0:
            remove_image(proc.stdout.strip().splitlines()[-1])
        return proc


_SIGSTORE = []


def skopeo_has_sigstore(tmp_dir):
    """Whether this skopeo signs and verifies sigstore signatures (1.18 on Debian 13; not Debian 12's 1.9.3)."""
    if not _SIGSTORE:
        prefix = os.path.join(str(tmp_dir), 'probe-%s' % uuid.uuid4().hex[:8])
        with open(prefix + '.pass', 'w') as f:
            f.write('probe-passphrase')
        proc = run(['skopeo', 'generate-sigstore-key', '--output-prefix', prefix, '--passphrase-file', prefix + '.pass'],
                   check=False)
        _SIGSTORE.append(proc.returncode == 0 and os.path.exists(prefix + '.pub'))
    return _SIGSTORE[0]


def remove_image(name_or_id):
    """Remove the image by ID: a pull by digest stores signatures with it and leaves a digest name behind."""
    proc = podman('image', 'inspect', '--format', '{{.Id}}', name_or_id, check=False)
    if proc.returncode == 0:
        podman('rmi', '-f', proc.stdout.strip(), check=False)


@pytest.fixture(scope='module')
def setup(tmp_path_factory, registry_http, keys):
    return Setup(tmp_path_factory.mktemp('sigsetup'), registry_http, keys)


def fresh_image(registry, repo_tag, tmp_path):
    """Push a new unique image (its own digest) to ``repo_tag``; the local source is removed again."""
    name = 'localhost/podkit-sig/src-%s:1' % uuid.uuid4().hex[:10]
    import_rootfs(name, tmp_path, marker='sig-%s' % uuid.uuid4().hex)
    try:
        return push(name, registry, repo_tag)
    finally:
        podman('rmi', '-f', name, check=False)


def tag_exists(registry, repo, tag):
    resp = requests.head('%s/v2/%s/manifests/%s' % (registry.url, repo, tag), headers={'Accept': ACCEPT}, timeout=10)
    return resp.status_code == 200


def ok(result):
    assert not result.get('failed'), result
    assert 'Traceback' not in json.dumps(result.result)
    return result


def failed(result, *words):
    assert result.get('failed') is True, result
    assert 'Traceback' not in json.dumps(result.result) and 'Traceback' not in result.stderr
    for word in words:
        assert word in result['msg'], result['msg']
    return result


def test_gpg_sign_with_image_copy_verified_by_skopeo_podman_and_image_pull(setup, keys, run_module, tmp_path):
    reg = setup.registry
    repo = 'sig/gpg-%s' % uuid.uuid4().hex[:8]
    src = fresh_image(reg, '%s-src:1' % repo, tmp_path)
    dest = '%s/%s:1' % (reg.host, repo)
    args = dict(src='docker://' + src.ref, dest='docker://' + dest, src_insecure=True, dest_insecure=True,
                sign_by=keys.fingerprint, sign_passphrase_file=keys.passphrase_file, gpg_home=keys.gnupg,
                registries_d=setup.registries_d)
    check = ok(run_module('image_copy', args, check=True))
    assert check['changed'] is True and check['signatures']['written'] == {'simple': 1, 'sigstore': 0}
    assert not tag_exists(reg, repo, '1')
    first = ok(run_module('image_copy', args))
    assert first['changed'] is True and first['signatures']['written'] == {'simple': 1, 'sigstore': 0}
    assert first['signatures']['identity'] == dest
    digest = first['dest_digest']
    files = glob.glob(os.path.join(setup.lookaside, repo + '@sha256=' + digest.split(':')[1], 'signature-*'))
    assert [os.path.basename(f) for f in files] == ['signature-1']
    again = ok(run_module('image_copy', args))
    assert again['changed'] is False and again['signatures']['written'] == {'simple': 0, 'sigstore': 0}

    # skopeo as the reference: standalone-verify, then copy and pull under a policy that requires the key.
    manifest = tmp_path / 'manifest.json'
    manifest.write_bytes(requests.get('%s/v2/%s/manifests/1' % (reg.url, repo), headers={'Accept': ACCEPT}, timeout=10).content)
    verified = run(['skopeo', 'standalone-verify', str(manifest), dest, keys.fingerprint, files[0]], env={'GNUPGHOME': keys.gnupg})
    assert digest in verified.stdout
    setup.skopeo_copy(dest, setup.gpg_policy)
    setup.podman_pull(dest, setup.gpg_policy)

    info = ok(run_module('image_info', dict(name=dest, insecure=True, registries_d=setup.registries_d)))
    assert info['signatures'] == [{'type': 'simple', 'index': 1, 'digest': digest, 'identity': dest,
                                   'key_id': keys.fingerprint[-16:], 'fingerprint': keys.fingerprint}]

    pull_args = dict(name=dest, insecure=True, signature_policy=setup.gpg_policy, registries_d=setup.registries_d)
    pulled = ok(run_module('image_pull', pull_args))
    try:
        assert pulled['pulled'] is True and pulled['signatures'][0]['key'] == keys.fingerprint
        assert '%s/%s@%s' % (reg.host, repo, digest) in pulled['image']['repo_digests']
        assert dest in pulled['image']['repo_tags']
        assert ok(run_module('image_pull', pull_args))['changed'] is False

        # The tag moves to an unsigned image: everyone refuses it, and image_pull pulls nothing.
        fresh_image(reg, '%s:1' % repo, tmp_path)
        refused = failed(run_module('image_pull', pull_args), 'not signed', 'no simple signature')
        assert refused['msg'].count(repo) >= 1
        assert podman('image', 'inspect', '--format', '{{.Id}}', dest).stdout.strip() == pulled['image']['id']
        assert 'no signature exists' in setup.skopeo_copy(dest, setup.gpg_policy, check=False).stderr
        assert 'no signature exists' in setup.podman_pull(dest, setup.gpg_policy, check=False).stderr
        # Another key in the policy: the signature there does not count.
        sigstore_only = failed(run_module('image_pull', dict(pull_args, name='%s/%s@%s' % (reg.host, repo, digest), policy='always',
                                                             signature_policy=setup.sigstore_policy)), 'sigstoreSigned')
        assert 'no sigstore signature' in sigstore_only['msg']
        failed(run_module('image_pull', dict(pull_args, signature_policy=setup.reject_policy)), 'rejects')
    finally:
        remove_image(dest)
    secret_scan([check, first, again, pulled, refused], [GPG_PASSPHRASE])


def test_skopeo_signs_image_pull_verifies(setup, keys, run_module, tmp_path):
    reg = setup.registry
    repo = 'sig/skopeo-%s' % uuid.uuid4().hex[:8]
    src = fresh_image(reg, '%s-src:1' % repo, tmp_path)
    dest = '%s/%s:1' % (reg.host, repo)
    run(['skopeo', '--registries.d', setup.registries_d, 'copy', '-q', '--src-tls-verify=false', '--dest-tls-verify=false',
         '--sign-by', keys.fingerprint, '--sign-passphrase-file', keys.passphrase_file, 'docker://' + src.ref, 'docker://' + dest],
        env={'GNUPGHOME': keys.gnupg})
    pull_args = dict(name=dest, insecure=True, signature_policy=setup.gpg_policy, registries_d=setup.registries_d)
    try:
        check = ok(run_module('image_pull', pull_args, check=True))
        assert check['changed'] is True and check['signatures'][0]['identity'] == dest
        pulled = ok(run_module('image_pull', pull_args))
        assert pulled['pulled'] is True and pulled['signatures'][0]['key'] == keys.fingerprint
        # Copying it on carries skopeo's signature along; remove_signatures drops it.
        copied = ok(run_module('image_copy', dict(src='docker://' + dest, dest='docker://%s/%s-copy:1' % (reg.host, repo),
                                                  src_insecure=True, dest_insecure=True, registries_d=setup.registries_d)))
        assert copied['signatures']['written'] == {'simple': 1, 'sigstore': 0}
        info = ok(run_module('image_info', dict(name='%s/%s-copy:1' % (reg.host, repo), insecure=True, registries_d=setup.registries_d)))
        assert [s['identity'] for s in info['signatures']] == [dest]
        dropped = ok(run_module('image_copy', dict(src='docker://' + dest, dest='docker://%s/%s-bare:1' % (reg.host, repo),
                                                   src_insecure=True, dest_insecure=True, registries_d=setup.registries_d,
                                                   remove_signatures=True)))
        assert dropped['signatures']['written'] == {'simple': 0, 'sigstore': 0}
        converted = failed(run_module('image_copy', dict(src='docker://' + dest, dest='docker://%s/%s-oci:1' % (reg.host, repo),
                                                         src_insecure=True, dest_insecure=True, format='oci',
                                                         registries_d=setup.registries_d)), 'remove_signatures')
        assert 'changes the manifest digest' in converted['msg']
    finally:
        remove_image(dest)


def test_sigstore_sign_and_verify(setup, keys, run_module, tmp_path):
    reg = setup.registry
    repo = 'sig/sigstore-%s' % uuid.uuid4().hex[:8]
    src = fresh_image(reg, '%s-src:1' % repo, tmp_path)
    dest = '%s/%s:1' % (reg.host, repo)
    args = dict(src='docker://' + src.ref, dest='docker://' + dest, src_insecure=True, dest_insecure=True,
                sign_by_sigstore_private_key=keys.sigstore_key, sign_passphrase_file=keys.sigstore_pass,
                registries_d=setup.registries_d)
    first = ok(run_module('image_copy', args))
    assert first['changed'] is True and first['signatures']['written'] == {'simple': 0, 'sigstore': 1}
    digest = first['dest_digest']
    assert tag_exists(reg, repo, 'sha256-%s.sig' % digest.split(':')[1])
    assert ok(run_module('image_copy', args))['changed'] is False
    # A plain PEM key signs too (a second signature in the same attachment).
    plain = ok(run_module('image_copy', dict(args, sign_by_sigstore_private_key=keys.plain_key, sign_passphrase_file=None)))
    assert plain['signatures']['written'] == {'simple': 0, 'sigstore': 1}

    info = ok(run_module('image_info', dict(name=dest, insecure=True, registries_d=setup.registries_d)))
    assert [(s['type'], s['identity'], s['digest']) for s in info['signatures']] == [('sigstore', dest, digest)] * 2

    pull_args = dict(name=dest, insecure=True, signature_policy=setup.sigstore_policy, registries_d=setup.registries_d)
    try:
        pulled = ok(run_module('image_pull', pull_args))
        assert pulled['pulled'] is True and pulled['signatures'] == [{'type': 'sigstore', 'key': None, 'identity': dest, 'digest': digest}]
        ok(run_module('image_pull', dict(pull_args, signature_policy=setup.plain_policy, policy='always')))
        sigstore = skopeo_has_sigstore(tmp_path)
        proc = setup.skopeo_copy(dest, setup.sigstore_policy, check=False)
        if sigstore:
            # skopeo verifies our signature under its sigstoreSigned policy (and the one by the plain key with that key)
            assert proc.returncode == 0, proc.stderr
            assert setup.skopeo_copy(dest, setup.plain_policy, check=False).returncode == 0
        else:
            # Debian 12's skopeo 1.9.3 refuses to verify sigstore signatures at all.
            assert proc.returncode != 0 and 'sigstore disabled' in proc.stderr, proc.stderr
        fresh_image(reg, '%s:1' % repo, tmp_path)
        failed(run_module('image_pull', pull_args), 'not signed', 'no sigstore signature')
        if sigstore:
            refused = setup.skopeo_copy(dest, setup.sigstore_policy, check=False)
            assert refused.returncode != 0 and 'signature' in refused.stderr.lower(), refused.stderr
    finally:
        remove_image(dest)
    secret_scan([first, plain], [SIGSTORE_PASSPHRASE])


def test_signing_failures_push_nothing(setup, keys, run_module, tmp_path):
    reg = setup.registry
    src = fresh_image(reg, 'sig/fail-src-%s:1' % uuid.uuid4().hex[:8], tmp_path)
    base = dict(src='docker://' + src.ref, src_insecure=True, dest_insecure=True, registries_d=setup.registries_d)
    blocked = tmp_path / 'registries.d'
    blocked.mkdir()
    (tmp_path / 'a-file').write_text('x')
    (blocked / 'blocked.yaml').write_text('default-docker:\n  lookaside: file://%s/sigs\n' % (tmp_path / 'a-file'))
    cases = [
        (dict(sign_by='0123456789ABCDEF0123456789ABCDEF01234567', gpg_home=keys.gnupg), ['no secret key']),
        (dict(sign_by=keys.fingerprint, gpg_home=keys.gnupg, sign_passphrase_file=keys.wrong_passphrase_file), ['wrong passphrase']),
        (dict(sign_by=keys.fingerprint, gpg_home=keys.gnupg, sign_passphrase_file=keys.passphrase_file,
              registries_d=str(blocked)), ['lookaside', 'not writable']),
        (dict(sign_by_sigstore_private_key=str(tmp_path / 'missing.key')), ['cannot read', 'missing.key']),
        (dict(sign_by_sigstore_private_key=keys.sigstore_key, sign_passphrase_file=keys.wrong_passphrase_file), ['wrong passphrase']),
        (dict(sign_by_sigstore_private_key=keys.sigstore_key), ['encrypted', 'sign_passphrase_file']),
        (dict(sign_by=keys.fingerprint, dest_override='oci:%s:x' % (tmp_path / 'layout')), ['registry destination']),
    ]
    results = []
    for extra, words in cases:
        repo = 'sig/fail-%s' % uuid.uuid4().hex[:8]
        dest = extra.pop('dest_override', 'docker://%s/%s:1' % (reg.host, repo))
        result = failed(run_module('image_copy', dict(base, dest=dest, **extra)), *words)
        results.append(result)
        assert not tag_exists(reg, repo, '1'), 'an unsigned image was pushed: %s' % result['msg']
    assert not os.path.exists(str(tmp_path / 'layout'))
    secret_scan(results, [GPG_PASSPHRASE, SIGSTORE_PASSPHRASE])


def test_malformed_signatures_in_registry_and_lookaside(setup, keys, run_module, tmp_path):
    from ansible_collections.podkit.containers.plugins.module_utils.signatures import attachments
    reg = setup.registry
    repo = 'sig/bad-%s' % uuid.uuid4().hex[:8]
    pushed = fresh_image(reg, '%s:1' % repo, tmp_path)
    directory = os.path.join(setup.lookaside, '%s@sha256=%s' % (repo, pushed.digest.split(':')[1]))
    os.makedirs(directory)
    with open(os.path.join(directory, 'signature-1'), 'wb') as f:
        f.write(b'this is not an OpenPGP message')
    # A sigstore attachment whose signature is garbage and one over a payload for another digest.
    from ansible_collections.podkit.containers.plugins.module_utils.registry.client import RegistryClient
    from ansible_collections.podkit.containers.plugins.module_utils.options import RegistryOptions
    from ansible_collections.podkit.containers.plugins.module_utils.signatures import payload as pl, private_keys
    client = RegistryClient(reg.host, options=RegistryOptions(insecure=True))
    other = pl.build(pl.SIGSTORE_TYPE, 'sha256:' + '0' * 64, pushed.ref)
    key = private_keys.load_private_key(keys.sigstore_key, SIGSTORE_PASSPHRASE.encode())
    attachments.write(client, repo, pushed.digest, [attachments.Attachment(b'{"not": "a payload"}', 'AAAA'),
                                                    attachments.Attachment(other, private_keys.sign(key, other))])
    pull = dict(name=pushed.ref, insecure=True, registries_d=setup.registries_d)
    simple = failed(run_module('image_pull', dict(pull, signature_policy=setup.gpg_policy)), 'signature-1', 'not signed')
    sigstore = failed(run_module('image_pull', dict(pull, signature_policy=setup.sigstore_policy)), 'sigstore signature 2',
                      'signs manifest sha256:0000')
    assert 'sigstore signature 1: not made by the policy key' in sigstore['msg']
    info = ok(run_module('image_info', dict(name=pushed.ref, insecure=True, registries_d=setup.registries_d)))
    kinds = [(s['type'], 'error' in s) for s in info['signatures']]
    assert kinds == [('simple', True), ('sigstore', True), ('sigstore', False)]
    assert podman('image', 'exists', pushed.ref, check=False).returncode != 0
    assert simple and sigstore


# -- a web lookaside: signatures written to a file staging directory, read over http (the usual set-up) -------------

class WebLookaside:
    """``root`` served by http.server on 127.0.0.1 (a thread); ``paths`` records every GET. registries.d ``registries_d``
    says: read from ``url``, write to ``file://root`` (lookaside-staging)."""

    def __init__(self, base, registry):
        import functools
        import threading
        from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
        self.root = os.path.join(str(base), 'www')
        os.makedirs(self.root)
        self.paths = []
        paths = self.paths

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                paths.append(self.path)
                SimpleHTTPRequestHandler.do_GET(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Handler, directory=self.root))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = 'http://127.0.0.1:%d/sigstore' % self.server.server_address[1]
        self.home = os.path.join(str(base), 'home')
        self.registries_d = os.path.join(self.home, '.config', 'containers', 'registries.d')
        os.makedirs(self.registries_d)
        with open(os.path.join(self.registries_d, 'web.yaml'), 'w') as f:
            f.write('docker:\n  %s:\n    lookaside: %s\n    lookaside-staging: file://%s/sigstore\n' % (registry.host, self.url, self.root))

    def fetched(self, repo):
        return [p for p in self.paths if p.startswith('/sigstore/%s@' % repo)]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope='module')
def web(tmp_path_factory, registry_http):
    w = WebLookaside(tmp_path_factory.mktemp('weblookaside'), registry_http)
    yield w
    w.stop()


def test_web_lookaside_image_copy_signs_image_pull_and_image_info_read_over_http(setup, web, keys, run_module, tmp_path):
    reg = setup.registry
    repo = 'sig/web-%s' % uuid.uuid4().hex[:8]
    src = fresh_image(reg, '%s-src:1' % repo, tmp_path)
    dest = '%s/%s:1' % (reg.host, repo)
    signed = ok(run_module('image_copy', dict(src='docker://' + src.ref, dest='docker://' + dest, src_insecure=True, dest_insecure=True,
                                              sign_by=keys.fingerprint, sign_passphrase_file=keys.passphrase_file, gpg_home=keys.gnupg,
                                              registries_d=web.registries_d)))
    digest = signed['dest_digest']
    assert signed['signatures']['written'] == {'simple': 1, 'sigstore': 0}
    # Written to the staging directory the web server publishes; the source's (none) was looked up over http.
    assert os.path.isfile(os.path.join(web.root, 'sigstore', '%s@sha256=%s' % (repo, digest.split(':')[1]), 'signature-1'))
    assert web.fetched(repo + '-src') == ['/sigstore/%s-src@sha256=%s/signature-1' % (repo, src.digest.split(':')[1])]

    info = ok(run_module('image_info', dict(name=dest, insecure=True, registries_d=web.registries_d)))
    assert [(s['fingerprint'], s['identity'], s['digest']) for s in info['signatures']] == [(keys.fingerprint, dest, digest)]
    sig_dir = '/sigstore/%s@sha256=%s/' % (repo, digest.split(':')[1])
    assert web.fetched(repo) == [sig_dir + 'signature-1', sig_dir + 'signature-2']

    # skopeo reads the same web lookaside and agrees.
    run(['skopeo', '--policy', setup.gpg_policy, '--registries.d', web.registries_d, 'copy', '-q', '--src-tls-verify=false',
         'docker://' + dest, 'dir:' + str(tmp_path / 'skopeo-out')])

    pull_args = dict(name=dest, insecure=True, signature_policy=setup.gpg_policy, registries_d=web.registries_d)
    try:
        check = ok(run_module('image_pull', pull_args, check=True))
        assert check['changed'] is True and check['signatures'][0]['key'] == keys.fingerprint
        pulled = ok(run_module('image_pull', pull_args))
        assert pulled['pulled'] is True and pulled['signatures'][0]['digest'] == digest
        fresh_image(reg, '%s:1' % repo, tmp_path)
        refused = failed(run_module('image_pull', pull_args), 'not signed', 'no simple signature', web.url)
        assert podman('image', 'inspect', '--format', '{{.Id}}', dest).stdout.strip() == pulled['image']['id']
    finally:
        remove_image(dest)
    secret_scan([signed, check, pulled, refused], [GPG_PASSPHRASE])


def test_web_lookaside_skopeo_signs_image_pull_verifies(setup, web, keys, run_module, tmp_path):
    reg = setup.registry
    repo = 'sig/webskopeo-%s' % uuid.uuid4().hex[:8]
    src = fresh_image(reg, '%s-src:1' % repo, tmp_path)
    dest = '%s/%s:1' % (reg.host, repo)
    # skopeo writes to lookaside-staging too.
    run(['skopeo', '--registries.d', web.registries_d, 'copy', '-q', '--src-tls-verify=false', '--dest-tls-verify=false',
         '--sign-by', keys.fingerprint, '--sign-passphrase-file', keys.passphrase_file, 'docker://' + src.ref, 'docker://' + dest],
        env={'GNUPGHOME': keys.gnupg})
    try:
        pulled = ok(run_module('image_pull', dict(name=dest, insecure=True, signature_policy=setup.gpg_policy,
                                                  registries_d=web.registries_d)))
        assert pulled['pulled'] is True and pulled['signatures'][0]['key'] == keys.fingerprint
        assert web.fetched(repo)
        # Another key in the policy: skopeo's signature is refused for what it is.
        other = setup.policy('other-gpg', [{'type': 'signedBy', 'keyType': 'GPGKeys', 'keyData': base64_of_other_key(tmp_path)}])
        failed(run_module('image_pull', dict(name=dest, insecure=True, signature_policy=other, registries_d=web.registries_d,
                                             policy='always')), 'signature-1', 'not in the policy')
    finally:
        remove_image(dest)


def base64_of_other_key(tmp_path):
    """A GPG public key that did not sign anything here (made in a throw-away GNUPGHOME)."""
    import base64
    home = str(tmp_path / 'other-gnupg')
    os.mkdir(home, 0o700)
    env = {'GNUPGHOME': home}
    run(['gpg', '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', 'Other <other@example.com>',
         'ed25519', 'sign', 'never'], env=env)
    data = subprocess.run(['gpg', '--batch', '--export'], env=dict(os.environ, **env), stdout=subprocess.PIPE, check=True).stdout
    run(['gpgconf', '--kill', 'gpg-agent'], env=env, check=False)
    return base64.b64encode(data).decode()


# -- container_state under a signature policy ----------------------------------------------------------------------

LOOP = ['/bin/sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.2; done']


def container_image(name):
    proc = podman('container', 'inspect', '--format', '{{.Image}} {{.State.Status}}', name, check=False)
    return tuple(proc.stdout.split()) if proc.returncode == 0 else None


def test_container_state_pulls_only_signed_images(setup, web, keys, run_module, tmp_path):
    reg = setup.registry
    repo = 'sig/cs-%s' % uuid.uuid4().hex[:8]
    src = fresh_image(reg, '%s-src:1' % repo, tmp_path)
    dest = '%s/%s:1' % (reg.host, repo)
    ok(run_module('image_copy', dict(src='docker://' + src.ref, dest='docker://' + dest, src_insecure=True, dest_insecure=True,
                                     sign_by=keys.fingerprint, sign_passphrase_file=keys.passphrase_file, gpg_home=keys.gnupg,
                                     registries_d=web.registries_d)))
    name = 'podkit-sigcs-%s' % uuid.uuid4().hex[:8]
    args = dict(name=name, image=dest, command=LOOP, stop_timeout=5, network=['none'], pull='missing', insecure=True,
                signature_policy=setup.gpg_policy, registries_d=web.registries_d)
    try:
        check = ok(run_module('container_state', args, check=True))
        assert check['changed'] is True and check['actions'] == ['pull', 'create', 'start']
        assert check['signatures'][0]['key'] == keys.fingerprint and container_image(name) is None
        assert podman('image', 'exists', dest, check=False).returncode != 0
        first = ok(run_module('container_state', args))
        assert first['actions'] == ['pull', 'create', 'start'] and first['signatures'][0]['identity'] == dest
        image_id = podman('image', 'inspect', '--format', '{{.Id}}', dest).stdout.strip()
        assert container_image(name) == (image_id, 'running')
        assert ok(run_module('container_state', dict(args, pull='newer')))['changed'] is False

        # The tag moves to an unsigned image: check mode predicts the refusal, the run refuses; nothing is pulled and
        # the container keeps running the signed image.
        fresh_image(reg, '%s:1' % repo, tmp_path)
        predicted = failed(run_module('container_state', dict(args, pull='newer'), check=True), 'not signed', 'no simple signature')
        refused = failed(run_module('container_state', dict(args, pull='newer')), 'not signed', 'no simple signature')
        assert repo in refused['msg']
        assert podman('image', 'inspect', '--format', '{{.Id}}', dest).stdout.strip() == image_id
        assert container_image(name) == (image_id, 'running')
        # pull: missing with the image local asks nobody and changes nothing.
        assert ok(run_module('container_state', args))['changed'] is False
    finally:
        podman('rm', '--force', '--time', '0', name, check=False)
        remove_image(dest)
    secret_scan([check, first, predicted, refused], [GPG_PASSPHRASE])


def test_skopeo_sigstore_signs_image_pull_and_container_state_verify(setup, keys, run_module, tmp_path):
    """The other way round: a key pair from `skopeo generate-sigstore-key`, a signature from `skopeo copy
    --sign-by-sigstore-private-key` (a sigstore attachment), verified by image_pull and container_state."""
    if not skopeo_has_sigstore(tmp_path):
        pytest.skip('this skopeo has sigstore disabled (Debian 12); the Debian 13 platform runs this test')
    reg = setup.registry
    repo = 'sig/skopeo-sigstore-%s' % uuid.uuid4().hex[:8]
    src = fresh_image(reg, '%s-src:1' % repo, tmp_path)
    dest = '%s/%s:1' % (reg.host, repo)
    prefix = str(tmp_path / 'skopeo-sigstore')
    passphrase = 'skopeo-sigstore-%s' % uuid.uuid4().hex[:12]
    with open(prefix + '.pass', 'w') as f:
        f.write(passphrase)
    run(['skopeo', 'generate-sigstore-key', '--output-prefix', prefix, '--passphrase-file', prefix + '.pass'])
    run(['skopeo', '--registries.d', setup.registries_d, 'copy', '-q', '--src-tls-verify=false', '--dest-tls-verify=false',
         '--sign-by-sigstore-private-key', prefix + '.private', '--sign-passphrase-file', prefix + '.pass',
         'docker://' + src.ref, 'docker://' + dest])
    policy = setup.policy('skopeo-sigstore', [{'type': 'sigstoreSigned', 'keyPath': prefix + '.pub'}])
    digest = json.loads(run(['skopeo', 'inspect', '--tls-verify=false', 'docker://' + dest]).stdout)['Digest']
    pull_args = dict(name=dest, insecure=True, signature_policy=policy, registries_d=setup.registries_d)
    name = 'podkit-sigss-%s' % uuid.uuid4().hex[:8]
    cs_args = dict(name=name, image=dest, command=LOOP, stop_timeout=5, network=['none'], pull='missing', insecure=True,
                   signature_policy=policy, registries_d=setup.registries_d)
    try:
        assert setup.skopeo_copy(dest, policy, check=False).returncode == 0
        pulled = ok(run_module('image_pull', pull_args))
        assert pulled['pulled'] is True
        assert pulled['signatures'] == [{'type': 'sigstore', 'key': None, 'identity': dest, 'digest': digest}]
        # under a policy with another key, skopeo's signature does not count
        failed(run_module('image_pull', dict(pull_args, signature_policy=setup.sigstore_policy, policy='always')),
               'not signed')
        remove_image(dest)

        started = ok(run_module('container_state', cs_args))
        assert started['actions'] == ['pull', 'create', 'start'], started
        assert started['signatures'][0]['type'] == 'sigstore' and started['signatures'][0]['digest'] == digest
        assert container_image(name)[1] == 'running'
        # the tag moves to an unsigned image: refused, the signed one keeps running
        fresh_image(reg, '%s:1' % repo, tmp_path)
        failed(run_module('container_state', dict(cs_args, pull='newer')), 'not signed', 'no sigstore signature')
        assert container_image(name)[1] == 'running'
        assert setup.skopeo_copy(dest, policy, check=False).returncode != 0
    finally:
        podman('rm', '--force', '--time', '0', name, check=False)
        remove_image(dest)
    secret_scan([pulled, started], [passphrase])
