# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sigstore private keys (internal; no stable API): ECDSA P-256 keys in PEM, the encrypted sigstore/cosign private
key format that skopeo reads, and signing.

The encrypted format (facts from the sigstore/cosign key documentation and secure-systems-lab's encrypted-key
layout): a PEM block ``ENCRYPTED SIGSTORE PRIVATE KEY`` (or the older ``ENCRYPTED COSIGN PRIVATE KEY``) whose
content is JSON ``{"kdf": {"name": "scrypt", "params": {"N", "r", "p"}, "salt"}, "cipher": {"name":
"nacl/secretbox", "nonce"}, "ciphertext"}`` (byte strings in standard base64); the key is scrypt(passphrase,
salt) of 32 bytes and the plaintext a PKCS#8 DER private key.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
import os

from ansible_collections.podkit.containers.plugins.module_utils import documents
from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError
from ansible_collections.podkit.containers.plugins.module_utils.signatures import _secretbox
from ansible_collections.podkit.containers.plugins.module_utils.signatures.keys import (
    ec,
    hashes,
    pem_blocks,
    public_pem,
    read_key_file,
    require_cryptography,
    serialization,
)

ENCRYPTED_PEM_TYPES = ('ENCRYPTED SIGSTORE PRIVATE KEY', 'ENCRYPTED COSIGN PRIVATE KEY')
SCRYPT_N = 32768
SCRYPT_R = 8
SCRYPT_P = 1


def read_passphrase(path):
    """The passphrase in ``path``: its first line, as skopeo reads --sign-passphrase-file."""
    if path is None:
        return None
    data = read_key_file(path, 'passphrase file')
    return data.split(b'\n', 1)[0].rstrip(b'\r')


def _scrypt(passphrase, salt, n, r, p):
    return hashlib.scrypt(passphrase, salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32)


def decrypt_private_key(body, passphrase, path):
    """PKCS#8 DER from the JSON body of an encrypted sigstore key."""
    what = 'the sigstore private key %s' % path
    doc = documents.load_json(body, what, documents.PRIVATE_KEY, ConfigError, path=path)
    try:
        kdf, cipher = doc['kdf'], doc['cipher']
        params = kdf['params']
        salt = base64.b64decode(kdf['salt'])
        nonce = base64.b64decode(cipher['nonce'])
        ciphertext = base64.b64decode(doc['ciphertext'])
        n, r, p = int(params['N']), int(params['r']), int(params['p'])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise ConfigError('the sigstore private key %s is not a valid encrypted key (JSON with kdf, cipher, ciphertext)' % path,
                          path=path)
    if kdf.get('name') != 'scrypt' or cipher.get('name') != 'nacl/secretbox':
        raise ConfigError('the sigstore private key %s uses kdf %s / cipher %s; only scrypt with nacl/secretbox is supported'
                          % (path, kdf.get('name'), cipher.get('name')), path=path)
    if passphrase is None:
        raise ConfigError('the sigstore private key %s is encrypted: give its passphrase in sign_passphrase_file' % path, path=path)
    try:
        key = _scrypt(passphrase, salt, n, r, p)
    except (ValueError, MemoryError) as exc:
        raise ConfigError('cannot derive the key of %s (scrypt N=%d r=%d p=%d): %s' % (path, n, r, p, exc), path=path)
    plain = _secretbox.open_box(key, nonce, ciphertext)
    if plain is None:
        raise ConfigError('cannot decrypt the sigstore private key %s: wrong passphrase (sign_passphrase_file)' % path, path=path)
    return plain


def encrypt_private_key(der, passphrase, pem_type='ENCRYPTED SIGSTORE PRIVATE KEY', n=SCRYPT_N):
    """PEM text of PKCS#8 ``der`` encrypted with ``passphrase`` (bytes) in the format skopeo reads."""
    salt = os.urandom(32)
    nonce = os.urandom(_secretbox.NONCE_SIZE)
    key = _scrypt(passphrase, salt, n, SCRYPT_R, SCRYPT_P)
    doc = {
        'kdf': {'name': 'scrypt', 'params': {'N': n, 'r': SCRYPT_R, 'p': SCRYPT_P}, 'salt': base64.b64encode(salt).decode('ascii')},
        'cipher': {'name': 'nacl/secretbox', 'nonce': base64.b64encode(nonce).decode('ascii')},
        'ciphertext': base64.b64encode(_secretbox.seal(key, nonce, der)).decode('ascii'),
    }
    body = base64.b64encode(json.dumps(doc).encode('utf-8')).decode('ascii')
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return '-----BEGIN %s-----\n%s\n-----END %s-----\n' % (pem_type, '\n'.join(lines), pem_type)


def load_private_key(path, passphrase=None):
    """An EC private key from ``path``: encrypted sigstore/cosign format, or PEM (PKCS#8 / SEC1, optionally encrypted)."""
    require_cryptography('signing with a sigstore private key')
    data = read_key_file(path, 'sigstore private key')
    der = None
    for kind, body in pem_blocks(data):
        if kind in ENCRYPTED_PEM_TYPES:
            if body is None:
                raise ConfigError('the sigstore private key %s has a damaged PEM block' % path, path=path)
            der = decrypt_private_key(body, passphrase, path)
            break
    try:
        if der is not None:
            key = serialization.load_der_private_key(der, password=None)
        else:
            key = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError:
        if passphrase is None:
            raise ConfigError('the private key %s is encrypted: give its passphrase in sign_passphrase_file' % path, path=path)
        raise ConfigError('the private key %s is not encrypted: drop sign_passphrase_file' % path, path=path)
    except ValueError as exc:
        hint = 'wrong passphrase or ' if passphrase is not None else ''
        raise ConfigError('cannot load the sigstore private key %s (%snot a PEM private key): %s'
                          % (path, hint, str(exc).split('\n', maxsplit=1)[0][:120]), path=path)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ConfigError('the sigstore private key %s is not an ECDSA key; sigstore keys are ECDSA (P-256)' % path, path=path)
    return key


def sign(key, payload):
    """Base64 (standard) of the ASN.1 DER ECDSA-SHA256 signature of ``payload``."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        der = key.sign(payload, ec.ECDSA(hashes.SHA256()))
    else:
        raise ConfigError('unsupported sigstore key type %s' % type(key).__name__)
    return base64.b64encode(der).decode('ascii')


def generate_key_pair(passphrase=None):
    """(private PEM text, public PEM text) of a new P-256 key; encrypted sigstore format when ``passphrase`` is given."""
    require_cryptography('generating sigstore keys')
    key = ec.generate_private_key(ec.SECP256R1())
    if passphrase is not None:
        der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        private = encrypt_private_key(der, passphrase)
    else:
        private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode('ascii')
    return private, public_pem(key).decode('ascii')
