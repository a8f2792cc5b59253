# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sigstore public keys (internal; no stable API): ECDSA P-256 public keys in PEM, and signature verification.

Private keys, their encrypted sigstore/cosign format and signing are in private_keys.py, which only signing code
imports: what verifies (image_pull, container_state, image_info) does not carry them to the target.

``cryptography`` is optional on the target: only sigstore keys need it, and the error says so.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - depends on the target
    InvalidSignature = ValueError
    hashes = serialization = ec = None
    HAS_CRYPTOGRAPHY = False


def require_cryptography(what):
    if not HAS_CRYPTOGRAPHY:
        raise ConfigError('%s needs the Python library cryptography on the target (pip install cryptography, or the '
                          'python3-cryptography package); simple signing (sign_by) needs only the gpg binary' % what)


def read_key_file(path, what):
    """At most 1 MiB of ``path``; ConfigError naming the file when it cannot be read."""
    try:
        with open(path, 'rb') as handle:
            return handle.read(1024 * 1024)
    except (IOError, OSError) as exc:
        raise ConfigError('cannot read the %s %s: %s' % (what, path, getattr(exc, 'strerror', None) or exc), path=path)


def pem_blocks(data):
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
                blocks.append((kind, base64.b64decode(''.join(text for text in lines if ':' not in text))))
            except (ValueError, TypeError):
                blocks.append((kind, None))
            kind = None
        elif kind is not None:
            lines.append(line)
    return blocks


def load_public_keys(data, where):
    """The public keys in PEM ``data`` (a policy's keyPath file or keyData)."""
    require_cryptography('verifying sigstore signatures')
    found = []
    for kind, body in pem_blocks(data):
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
