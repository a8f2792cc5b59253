# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NaCl secretbox (XSalsa20 + Poly1305) in pure Python (internal; no stable API).

The encrypted sigstore/cosign private key format (a PEM block holding JSON: scrypt KDF + ``nacl/secretbox``) is
read and written with this, so neither PyNaCl nor any other extra library is needed. Keys are a few hundred bytes:
speed does not matter. Facts from the algorithms' specifications (Salsa20, XSalsa20/HSalsa20, Poly1305, NaCl
``crypto_secretbox``: the box is the 16-byte tag followed by the ciphertext, the Poly1305 key is the first 32
bytes of the keystream and the message is XORed with the keystream from byte 32 on).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hmac
import struct

_SIGMA = (0x61707865, 0x3320646e, 0x79622d32, 0x6b206574)  # "expand 32-byte k"
_MASK = 0xffffffff
TAG_SIZE = 16
KEY_SIZE = 32
NONCE_SIZE = 24


def _rotl(value, shift):
    return ((value << shift) & _MASK) | (value >> (32 - shift))


def _rounds(state):
    x = list(state)
    for dummy in range(10):
        # column round
        for a, b, c, d in ((0, 4, 8, 12), (5, 9, 13, 1), (10, 14, 2, 6), (15, 3, 7, 11)):
            x[b] ^= _rotl((x[a] + x[d]) & _MASK, 7)
            x[c] ^= _rotl((x[b] + x[a]) & _MASK, 9)
            x[d] ^= _rotl((x[c] + x[b]) & _MASK, 13)
            x[a] ^= _rotl((x[d] + x[c]) & _MASK, 18)
        # row round
        for a, b, c, d in ((0, 1, 2, 3), (5, 6, 7, 4), (10, 11, 8, 9), (15, 12, 13, 14)):
            x[b] ^= _rotl((x[a] + x[d]) & _MASK, 7)
            x[c] ^= _rotl((x[b] + x[a]) & _MASK, 9)
            x[d] ^= _rotl((x[c] + x[b]) & _MASK, 13)
            x[a] ^= _rotl((x[d] + x[c]) & _MASK, 18)
    return x


def _state(key, sixteen):
    k = struct.unpack('<8I', key)
    i = struct.unpack('<4I', sixteen)
    return [_SIGMA[0], k[0], k[1], k[2], k[3], _SIGMA[1], i[0], i[1], i[2], i[3], _SIGMA[2], k[4], k[5], k[6], k[7], _SIGMA[3]]


def hsalsa20(key, nonce16):
    x = _rounds(_state(key, nonce16))
    return struct.pack('<8I', x[0], x[5], x[10], x[15], x[6], x[7], x[8], x[9])


def _salsa20_stream(key, nonce8, length):
    out = []
    counter = 0
    produced = 0
    while produced < length:
        state = _state(key, nonce8 + struct.pack('<Q', counter))
        x = _rounds(state)
        out.append(struct.pack('<16I', *[(x[n] + state[n]) & _MASK for n in range(16)]))
        produced += 64
        counter += 1
    return b''.join(out)[:length]


def xsalsa20_stream(key, nonce, length):
    return _salsa20_stream(hsalsa20(key, nonce[:16]), nonce[16:24], length)


def poly1305(key, message):
    r = int.from_bytes(key[:16], 'little') & 0x0ffffffc0ffffffc0ffffffc0fffffff
    s = int.from_bytes(key[16:32], 'little')
    p = (1 << 130) - 5
    acc = 0
    for offset in range(0, len(message), 16):
        block = message[offset:offset + 16] + b'\x01'
        acc = ((acc + int.from_bytes(block, 'little')) * r) % p
    return ((acc + s) & ((1 << 128) - 1)).to_bytes(16, 'little')


def _xor(data, stream):
    return bytes(a ^ b for a, b in zip(data, stream))


def seal(key, nonce, message):
    if len(key) != KEY_SIZE or len(nonce) != NONCE_SIZE:
        raise ValueError('secretbox needs a 32-byte key and a 24-byte nonce')
    stream = xsalsa20_stream(key, nonce, 32 + len(message))
    ciphertext = _xor(message, stream[32:])
    return poly1305(stream[:32], ciphertext) + ciphertext


def open_box(key, nonce, box):
    """The plaintext, or None when the tag does not match (wrong key: a wrong passphrase)."""
    if len(key) != KEY_SIZE or len(nonce) != NONCE_SIZE or len(box) < TAG_SIZE:
        return None
    tag, ciphertext = box[:TAG_SIZE], box[TAG_SIZE:]
    stream = xsalsa20_stream(key, nonce, 32 + len(ciphertext))
    if not hmac.compare_digest(poly1305(stream[:32], ciphertext), tag):
        return None
    return _xor(ciphertext, stream[32:])
