# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading (not verifying) an OpenPGP signed message (internal; no stable API).

image_info lists simple signatures without gpg and without the signer's key: the literal data (the payload) and
the issuer's key ID / fingerprint are read from the packets (RFC 4880: old and new packet headers, compressed
data packets with ZIP/ZLIB, one-pass signature, literal data and signature packets with the issuer subpackets).
Nothing read here is trusted: verification is gpg's job (signatures.gpg).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import zlib

MAX_DEPTH = 4


class OpenPGPError(ValueError):
    pass


def _packets(data):
    pos = 0
    while pos < len(data):
        tag_byte = data[pos]
        if not tag_byte & 0x80:
            raise OpenPGPError('not an OpenPGP packet at offset %d' % pos)
        pos += 1
        if tag_byte & 0x40:
            tag = tag_byte & 0x3f
            first = data[pos]
            if first < 192:
                length, pos = first, pos + 1
            elif first < 224:
                length, pos = ((first - 192) << 8) + data[pos + 1] + 192, pos + 2
            elif first == 255:
                length, pos = int.from_bytes(data[pos + 1:pos + 5], 'big'), pos + 5
            else:
                # Partial body lengths: gather the parts.
                body = b''
                while True:
                    first = data[pos]
                    if 224 <= first < 255:
                        part = 1 << (first & 0x1f)
                        body += data[pos + 1:pos + 1 + part]
                        pos += 1 + part
                        continue
                    if first < 192:
                        length, pos = first, pos + 1
                    elif first < 224:
                        length, pos = ((first - 192) << 8) + data[pos + 1] + 192, pos + 2
                    else:
                        length, pos = int.from_bytes(data[pos + 1:pos + 5], 'big'), pos + 5
                    body += data[pos:pos + length]
                    pos += length
                    break
                yield tag, body
                continue
        else:
            tag = (tag_byte >> 2) & 0x0f
            kind = tag_byte & 0x03
            if kind == 3:
                length = len(data) - pos
            else:
                size = (1, 2, 4)[kind]
                length, pos = int.from_bytes(data[pos:pos + size], 'big'), pos + size
        if pos + length > len(data):
            raise OpenPGPError('truncated OpenPGP packet')
        yield tag, data[pos:pos + length]
        pos += length


def _subpackets(data):
    pos = 0
    while pos < len(data):
        first = data[pos]
        if first < 192:
            length, pos = first, pos + 1
        elif first < 255:
            length, pos = ((first - 192) << 8) + data[pos + 1] + 192, pos + 2
        else:
            length, pos = int.from_bytes(data[pos + 1:pos + 5], 'big'), pos + 5
        if length == 0:
            break
        yield data[pos] & 0x7f, data[pos + 1:pos + length]
        pos += length


def read_signed_message(data, depth=0):
    """dict(payload=bytes, key_id=hex or None, fingerprint=hex or None) of a signed message; OpenPGPError if it is not one."""
    if depth > MAX_DEPTH:
        raise OpenPGPError('too deeply nested OpenPGP packets')
    out = {'payload': None, 'key_id': None, 'fingerprint': None}
    try:
        for tag, body in _packets(bytes(data)):
            if tag == 8:
                algorithm = body[0]
                if algorithm == 0:
                    inner = body[1:]
                elif algorithm == 1:
                    inner = zlib.decompress(body[1:], -15)
                elif algorithm == 2:
                    inner = zlib.decompress(body[1:])
                else:
                    raise OpenPGPError('unsupported OpenPGP compression %d' % algorithm)
                nested = read_signed_message(inner, depth + 1)
                for key, value in nested.items():
                    out[key] = out[key] or value
            elif tag == 4 and len(body) >= 13:
                out['key_id'] = out['key_id'] or binascii.hexlify(body[4:12]).decode('ascii').upper()
            elif tag == 11:
                name_len = body[1]
                out['payload'] = body[2 + name_len + 4:]
            elif tag == 2 and body and body[0] == 4:
                hashed_len = int.from_bytes(body[4:6], 'big')
                hashed = body[6:6 + hashed_len]
                unhashed_len = int.from_bytes(body[6 + hashed_len:8 + hashed_len], 'big')
                unhashed = body[8 + hashed_len:8 + hashed_len + unhashed_len]
                for kind, sub in list(_subpackets(hashed)) + list(_subpackets(unhashed)):
                    if kind == 33 and len(sub) > 1:
                        out['fingerprint'] = binascii.hexlify(sub[1:]).decode('ascii').upper()
                    elif kind == 16 and len(sub) == 8:
                        out['key_id'] = out['key_id'] or binascii.hexlify(sub).decode('ascii').upper()
    except (IndexError, zlib.error) as exc:
        raise OpenPGPError('malformed OpenPGP data (%s)' % exc)
    if depth == 0 and out['payload'] is None:
        raise OpenPGPError('no signed data in the OpenPGP message')
    if out['fingerprint'] and not out['key_id']:
        out['key_id'] = out['fingerprint'][-16:]
    return out
