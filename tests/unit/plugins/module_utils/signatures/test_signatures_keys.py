# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sigstore keys, the secretbox behind the encrypted key format, reading OpenPGP signed messages."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError
from ansible_collections.podkit.containers.plugins.module_utils.signatures import _secretbox, keys, openpgp, private_keys


def test_poly1305_rfc8439_vector():
    key = bytes.fromhex('85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b')
    assert _secretbox.poly1305(key, b'Cryptographic Forum Research Group').hex() == 'a8061dc1305136c6c22b8baf0c0127a9'


def test_secretbox_known_answer():
    # Produced once with PyNaCl's SecretBox (key 0..31, nonce 0..23).
    box = _secretbox.seal(bytes(range(32)), bytes(range(24)), b'podkit secretbox vector')
    assert box.hex() == '98e93a3d8839ec45aff7d64654e13f1f2e905c24aebe8263de5ffd5b1ced25ef72d323bcf84a4d'
    assert _secretbox.open_box(bytes(range(32)), bytes(range(24)), box) == b'podkit secretbox vector'
    assert _secretbox.open_box(bytes(32), bytes(range(24)), box) is None


def test_key_pair_plain_and_encrypted(tmp_path):
    private, public = private_keys.generate_key_pair()
    (tmp_path / 'plain.key').write_text(private)
    key = private_keys.load_private_key(str(tmp_path / 'plain.key'))
    signature = private_keys.sign(key, b'payload')
    pub = keys.load_public_keys(public.encode(), 'pub')
    assert keys.verify(pub, b'payload', signature)
    assert not keys.verify(pub, b'other', signature)
    assert not keys.verify(pub, b'payload', 'not base64!')

    encrypted, dummy = private_keys.generate_key_pair(b'pass phrase')
    assert encrypted.startswith('-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----')
    (tmp_path / 'enc.key').write_text(encrypted)
    assert private_keys.load_private_key(str(tmp_path / 'enc.key'), b'pass phrase').curve.name == 'secp256r1'
    with pytest.raises(ConfigError, match='wrong passphrase'):
        private_keys.load_private_key(str(tmp_path / 'enc.key'), b'wrong')
    with pytest.raises(ConfigError, match='sign_passphrase_file'):
        private_keys.load_private_key(str(tmp_path / 'enc.key'))


def test_unreadable_and_bad_keys(tmp_path):
    with pytest.raises(ConfigError, match='cannot read'):
        private_keys.load_private_key(str(tmp_path / 'missing.key'))
    (tmp_path / 'junk.key').write_text('hello')
    with pytest.raises(ConfigError, match='not a PEM private key'):
        private_keys.load_private_key(str(tmp_path / 'junk.key'))
    with pytest.raises(ConfigError, match='no PEM public key'):
        keys.load_public_keys(b'junk', 'policy key')


def test_passphrase_first_line(tmp_path):
    (tmp_path / 'p').write_bytes(b'secret\nignored\n')
    assert private_keys.read_passphrase(str(tmp_path / 'p')) == b'secret'


@pytest.mark.skipif(shutil.which('gpg') is None, reason='needs gpg')
def test_openpgp_signed_message(tmp_path):
    home = tmp_path / 'gnupg'
    home.mkdir(mode=0o700)
    env = dict(os.environ, GNUPGHOME=str(home))
    subprocess.run(['gpg', '--batch', '--passphrase', '', '--quick-gen-key', 'Unit <unit@example.com>', 'ed25519', 'sign', 'never'],
                   env=env, check=True, capture_output=True)
    out = subprocess.run(['gpg', '--batch', '--list-keys', '--with-colons'], env=env, check=True, capture_output=True).stdout.decode()
    fpr = [l.split(':')[9] for l in out.splitlines() if l.startswith('fpr')][0]
    signed = subprocess.run(['gpg', '--batch', '--sign'], input=b'{"x":1}', env=env, check=True, capture_output=True).stdout
    message = openpgp.read_signed_message(signed)
    assert message['payload'] == b'{"x":1}' and message['fingerprint'] == fpr and message['key_id'] == fpr[-16:]
    with pytest.raises(openpgp.OpenPGPError):
        openpgp.read_signed_message(b'\x00garbage')
    with pytest.raises(openpgp.OpenPGPError):
        openpgp.read_signed_message(signed[:20])
