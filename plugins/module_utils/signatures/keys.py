# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sigstore keys (internal; no stable API): ECDSA P-256 keys in PEM, and the encrypted sigstore/cosign private
key format that skopeo reads.

The encrypted format (facts from the sigstore/cosign key documentation and secure-systems-lab's encrypted-key
layout): a PEM block ``ENCRYPTED SIGSTORE PRIVATE KEY`` (or the older ``ENCRYPTED COSIGN PRIVATE KEY``) whose
content is JSON ``{"kdf": {"name": "scrypt", "params": {"N", "r", "p"}, "salt"}, "cipher": {"name":
"nacl/secretbox", "nonce"}, "ciphertext"}`` (byte strings in standard base64); the key is scrypt(passphrase,
salt) of 32 bytes and the plaintext a PKCS#8 DER private key.

``cryptography`` is optional on the target: only sigstore keys need it, and the error says so.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
import os

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError
from ansible_collections.podkit.containers.plugins.module_utils.signatures import _secretbox

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - depends on the target
    InvalidSignature = ValueError
    hashes = serialization = ec = None
    HAS_CRYPTOGRAPHY = False

ENCRYPTED_PEM_TYPES = ('ENCRYPTED SIGSTORE PRIVATE KEY', 'ENCRYPTED COSIGN PRIVATE KEY')
SCRYPT_N = 32768
SCRYPT_R = 8
SCRYPT_P = 1


def require_cryptography(what):
    if not HAS_CRYPTOGRAPHY:
        raise ConfigError('%s needs the Python library cryptography on the target (pip install cryptography, or the '
                          'python3-cryptography package); simple signing (sign_by) needs only the gpg binary' % what)


def _read(path, what):
    try:
        with open(path, 'rb') as handle:
            return handle.read(1024 * 1024)
    except (IOError, OSError) as exc:
        raise ConfigError('cannot read the %s %s: %s' % (what, path, getattr(exc, 'strerror', None) or exc), path=path)


def read_passphrase(path):
    """The passphrase in ``path``: its first line, as skopeo reads --sign-passphrase-file."""
    if path is None:
        return None
    data = _read(path, 'passphrase file')
    return data.split(b'\n', 1)[0].rstrip(b'\r')


def _pem_blocks(data):
    """[(type, body bytes)] of the PEM blocks in ``data``."""
    blocks = []
    kind = None
    lines = []
    for line in data.decode('ascii', 'replace').splitlines():
        line = line.strip()
        if line.startswith('-----BEGIN ') and line.endswith('-----'):
            kind, lines = line[len('-----BEGIN '):-5], []
        elif line.startswith('-----END ') and kind is not None:
            try:
                blocks.append((kind, base64.b64decode(''.join(l for l in lines if ':' not in l))))
            except (ValueError, TypeError):
                blocks.append((kind, None))
            kind = None
        elif kind is not None:
            lines.append(line)
    return blocks


def _scrypt(passphrase, salt, n, r, p):
    return hashlib.scrypt(passphrase, salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32)


def decrypt_private_key(body, passphrase, path):
    """PKCS#8 DER from the JSON body of an encrypted sigstore key."""
    try:
        doc = json.loads(body.decode('utf-8'))
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
    data = _read(path, 'sigstore private key')
    der = None
    for kind, body in _pem_blocks(data):
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


def load_public_keys(data, where):
    """The public keys in PEM ``data`` (a policy's keyPath file or keyData)."""
    require_cryptography('verifying sigstore signatures')
    found = []
    for kind, body in _pem_blocks(data):
        if kind != 'PUBLIC KEY' or body is None:
            continue
        try:
            found.append(serialization.load_der_public_key(body))
        except ValueError:
            raise ConfigError('%s holds a PUBLIC KEY block that is not a valid public key' % where)
    if not found:
        raise ConfigError('%s holds no PEM public key (-----BEGIN PUBLIC KEY-----)' % where)
    return found


def public_pem(key):
    """PEM of the public half of ``key`` (a private or public key object)."""
    public = key.public_key() if hasattr(key, 'public_key') else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def sign(key, payload):
    """Base64 (standard) of the ASN.1 DER ECDSA-SHA256 signature of ``payload``."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        der = key.sign(payload, ec.ECDSA(hashes.SHA256()))
    else:
        raise ConfigError('unsupported sigstore key type %s' % type(key).__name__)
    return base64.b64encode(der).decode('ascii')


def verify(public_keys, payload, signature_b64):
    """True when one of ``public_keys`` verifies ``signature_b64`` (base64 DER) over ``payload``."""
    try:
        der = base64.b64decode(signature_b64, validate=True)
    except (ValueError, TypeError):
        return False
    for public in public_keys:
        try:
            if isinstance(public, ec.EllipticCurvePublicKey):
                public.verify(der, payload, ec.ECDSA(hashes.SHA256()))
                return True
        except InvalidSignature:
            continue
    return False


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
