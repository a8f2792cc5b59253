# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Go encoding/json round trips of the structs skopeo converts manifests through (internal; no stable API).

When skopeo 1.9.3 (containers/image 5.23, image-spec 1.1.0-rc2 with ``ArgsEscaped``, Go 1.19) converts a manifest, it decodes the
document into a Go struct and encodes the struct again: unknown members go, members come out in struct order,
``omitempty`` members vanish when empty, map keys are sorted, timestamps are re-formatted, and strings are
escaped as Go escapes them (``<``, ``>``, ``&``, U+2028, U+2029 as ``\\u`` sequences). A digest equal to skopeo's
needs the same bytes, so this module models exactly those steps (as the Go documentation and the Go 1.19
decoder define them), and nothing else:

* members match struct fields by name, exactly or else ASCII-case-insensitively (plus Go's K/S folds);
* ``null`` leaves strings, numbers, booleans and structs as they were, and sets slices, maps and pointers to nil;
* a repeated member decodes into what the earlier one left: structs and maps merge, a slice reuses its elements;
* a value of the wrong type is an error (skopeo fails the copy too): GoTypeError names the member.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import json
import re

from ansible_collections.podkit.containers.plugins.module_utils import documents
from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError


class GoTypeError(ValueError):
    """The document cannot be decoded into the struct (wrong JSON type, bad timestamp): Go refuses it too."""

    def __init__(self, path, problem):
        super(GoTypeError, self).__init__('%s: %s' % (path or '$', problem))
        self.path = path or '$'
        self.problem = problem


class _Pairs(list):
    """A JSON object as its (name, value) pairs, in document order, duplicates kept."""


STRING = ('string',)
BOOL = ('bool',)
INT64 = ('int64',)
TIME = ('time',)          # *time.Time
TIME_VALUE = ('time_value',)  # time.Time: never nil, zero is 0001-01-01T00:00:00Z
BYTES = ('bytes',)        # []byte: base64 in JSON
EMPTY = ('empty',)        # struct{}: the value of a set-like map


def slice_of(elem):
    return ('slice', elem)


def map_of(elem):
    return ('map', elem)


def pointer_to(struct):
    return ('ptr', struct)


def struct(*fields):
    """Fields in Go declaration order: (json name, type) or (json name, type, 'omitempty')."""
    return ('struct', tuple((f[0], f[1], len(f) > 2 and f[2] == 'omitempty') for f in fields))


def embed(*structs):
    """The fields of ``structs`` promoted into one struct (Go embedding), in order."""
    fields = []
    for item in structs:
        fields.extend(item[1])
    return ('struct', tuple(fields))


_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def loads(raw, what='document', kind=documents.CONFIG, error=ConfigError):
    """Parse JSON bytes as Go does (objects as _Pairs, duplicates kept).

    The document passes the guarded parser first (size cap, depth limit, strict JSON; ``error`` naming ``what``), so
    the second parse here, which keeps what a dict would lose, cannot recurse too deep.
    """
    documents.load_json(raw, what, kind, error)
    if isinstance(raw, bytes):
        raw = raw.decode('utf-8')
    return json.loads(raw, object_pairs_hook=_Pairs)


def _fold(name):
    # bytes.EqualFold: ASCII case, and the two non-ASCII runes that fold onto ASCII letters.
    name = name.replace(u'\u212a', 'k').replace(u'\u017f', 's')
    return name.lower() if all(ord(c) < 128 for c in name) else None


def _field(fields, name):
    for index, field in enumerate(fields):
        if field[0] == name:
            return index
    folded = _fold(name)
    if folded is None:
        return None
    for index, field in enumerate(fields):
        if field[0].lower() == folded:
            return index
    return None


ZERO_TIME = '0001-01-01T00:00:00Z'


def zero(kind):
    return {'string': '', 'bool': False, 'int64': 0, 'struct': {}, 'time_value': ZERO_TIME}.get(kind[0])


# Go 1.19 time.Parse with layout RFC 3339: a 1-2 digit hour, an optional fraction ('.' or ',') of any length
# (9 digits kept), 'Z' or a +hh:mm/-hh:mm offset.
_TIME = re.compile(r'(\d{4})-(\d{2})-(\d{2})T(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d+))?(Z|[+-]\d{2}:\d{2})\Z')
_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _time(value, path):
    match = _TIME.match(value)
    if not match:
        raise GoTypeError(path, 'timestamp %r is not RFC 3339' % value)
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = 29 if month == 2 and leap else (_DAYS[month - 1] if 1 <= month <= 12 else 0)
    if not (1 <= month <= 12 and 1 <= day <= days and hour < 24 and minute < 60 and second < 60):
        raise GoTypeError(path, 'timestamp %r is out of range' % value)
    fraction = (match.group(7) or '')[:9].rstrip('0')
    zone = match.group(8)
    if zone[1:] == '00:00':
        zone = 'Z'
    # What time.Time.MarshalJSON writes back (RFC3339Nano): the same wall clock and offset.
    return '%04d-%02d-%02dT%02d:%02d:%02d%s%s' % (year, month, day, hour, minute, second,
                                                  '.' + fraction if fraction else '', zone)


def decode(kind, value, current=None, path='$'):
    """The Go value of JSON ``value`` (from loads) decoded into ``current`` of type ``kind``."""
    tag = kind[0]
    if current is None and tag == 'struct':
        current = {}
    if value is None:
        return current if tag in ('string', 'bool', 'int64', 'struct', 'time_value') else None
    if tag == 'string':
        if not isinstance(value, str):
            raise GoTypeError(path, 'expected a string')
        # Go decodes a lone UTF-16 surrogate escape to U+FFFD.
        return re.sub(u'[\ud800-\udfff]', u'\ufffd', value)
    if tag == 'bool':
        if not isinstance(value, bool):
            raise GoTypeError(path, 'expected true or false')
        return value
    if tag == 'int64':
        if isinstance(value, bool) or not isinstance(value, int) or not _INT64_MIN <= value <= _INT64_MAX:
            raise GoTypeError(path, 'expected an integer')
        return value
    if tag in ('time', 'time_value'):
        if not isinstance(value, str):
            raise GoTypeError(path, 'expected an RFC 3339 timestamp string')
        return _time(value, path)
    if tag == 'bytes':
        if not isinstance(value, str):
            raise GoTypeError(path, 'expected base64 data')
        try:
            return base64.b64decode(value.encode('ascii'), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raise GoTypeError(path, 'expected base64 data')
    if tag == 'empty':
        if not isinstance(value, _Pairs):
            raise GoTypeError(path, 'expected an object')
        return True
    if tag == 'slice':
        if not isinstance(value, list) or isinstance(value, _Pairs):
            raise GoTypeError(path, 'expected an array')
        old = current or []
        return [decode(kind[1], item, old[i] if i < len(old) else zero(kind[1]), '%s[%d]' % (path, i))
                for i, item in enumerate(value)]
    if tag == 'map':
        if not isinstance(value, _Pairs):
            raise GoTypeError(path, 'expected an object')
        out = dict(current or {})
        for name, item in value:
            out[re.sub(u'[\ud800-\udfff]', u'\ufffd', name)] = decode(kind[1], item, zero(kind[1]), '%s.%s' % (path, name))
        return out
    if tag == 'ptr':
        return decode(kind[1], value, current, path)
    if tag == 'struct':
        if not isinstance(value, _Pairs):
            raise GoTypeError(path, 'expected an object')
        fields = kind[1]
        out = dict(current)
        for name, item in value:
            index = _field(fields, name)
            if index is None:
                continue
            fname, ftype = fields[index][0], fields[index][1]
            out[fname] = decode(ftype, item, out.get(fname, zero(ftype)), '%s.%s' % (path, fname))
        return out
    raise AssertionError(kind)  # pragma: no cover


def _quote(text):
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append('\\' + char)
        elif char == '\n':
            out.append('\\n')
        elif char == '\r':
            out.append('\\r')
        elif char == '\t':
            out.append('\\t')
        elif code < 0x20 or char in '<>&' or code in (0x2028, 0x2029):
            out.append('\\u%04x' % code)
        else:
            out.append(char)
    out.append('"')
    return ''.join(out)


def _empty(kind, value):
    tag = kind[0]
    if tag in ('slice', 'map', 'bytes'):
        return not value
    if tag in ('ptr', 'time'):
        return value is None
    return tag not in ('struct', 'time_value') and not value


def _encode(kind, value, out):
    tag = kind[0]
    if tag == 'string':
        out.append(_quote(value))
    elif tag == 'bool':
        out.append('true' if value else 'false')
    elif tag == 'int64':
        out.append(str(value))
    elif tag in ('time', 'time_value'):
        out.append('null' if value is None else '"%s"' % value)
    elif tag == 'bytes':
        out.append('null' if value is None else '"%s"' % base64.b64encode(value).decode('ascii'))
    elif tag == 'empty':
        out.append('{}')
    elif tag == 'slice':
        if value is None:
            out.append('null')
            return
        out.append('[')
        for i, item in enumerate(value):
            if i:
                out.append(',')
            _encode(kind[1], item, out)
        out.append(']')
    elif tag == 'map':
        if value is None:
            out.append('null')
            return
        out.append('{')
        for i, name in enumerate(sorted(value)):
            if i:
                out.append(',')
            out.append(_quote(name) + ':')
            _encode(kind[1], value[name], out)
        out.append('}')
    elif tag == 'ptr':
        if value is None:
            out.append('null')
        else:
            _encode(kind[1], value, out)
    elif tag == 'struct':
        out.append('{')
        first = True
        for name, ftype, omitempty in kind[1]:
            item = value.get(name, zero(ftype))
            if omitempty and _empty(ftype, item):
                continue
            if not first:
                out.append(',')
            first = False
            out.append(_quote(name) + ':')
            _encode(ftype, item, out)
        out.append('}')
    else:  # pragma: no cover
        raise AssertionError(kind)


def encode(kind, value):
    """json.Marshal of the Go value: compact UTF-8 bytes."""
    out = []
    _encode(kind, value, out)
    return ''.join(out).encode('utf-8')


def quote(text):
    """A Go-encoded JSON string."""
    return _quote(re.sub(u'[\ud800-\udfff]', u'\ufffd', text))


_SPACE = ' \t\n\r'


def _string_end(text, start):
    """The index after the JSON string starting at ``start`` (a '"')."""
    i = start + 1
    while text[i] != '"':
        i += 2 if text[i] == '\\' else 1
    return i + 1


def _value_end(text, start):
    depth = 0
    i = start
    while i < len(text):
        char = text[i]
        if char == '"':
            i = _string_end(text, i)
            if depth == 0:
                return i
            continue
        if depth == 0 and char in ',}' + _SPACE:
            return i
        if char in '[{':
            depth += 1
        elif char in ']}':
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def raw_members(text):
    """[(name, raw value text)] of the JSON object ``text`` (valid JSON: loads() checked it), in document order:
    what Go's json.Unmarshal into map[string]*json.RawMessage keeps of it."""
    out = []
    i = text.index('{') + 1
    while True:
        while text[i] in _SPACE + ',':
            i += 1
        if text[i] == '}':
            return out
        end = _string_end(text, i)
        name = json.loads(text[i:end])
        i = text.index(':', end) + 1
        while text[i] in _SPACE:
            i += 1
        end = _value_end(text, i)
        out.append((name, text[i:end]))
        i = end


def compact(text):
    """What Go writes for a json.RawMessage: insignificant whitespace removed, ``<``, ``>``, ``&``, U+2028 and
    U+2029 inside strings escaped, everything else (escapes, member order, duplicates) as it was."""
    out = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == '"':
            end = _string_end(text, i)
            out.append(re.sub(u'[<>&\u2028\u2029]', lambda m: '\\u%04x' % ord(m.group(0)), text[i:end]))
            i = end
            continue
        if char not in _SPACE:
            out.append(char)
        i += 1
    return re.sub(u'[\ud800-\udfff]', u'\ufffd', ''.join(out))


def round_trip(kind, raw, what='document'):
    """``encode(kind, decode(kind, loads(raw)))``: what skopeo writes after reading ``raw`` into ``kind``."""
    return encode(kind, decode(kind, loads(raw, what)))


# -- the structs (image-spec 1.1.0-rc2, containers/image 5.23 manifest package) -----------------------------------

OCI_PLATFORM = struct(('architecture', STRING), ('os', STRING), ('os.version', STRING, 'omitempty'),
                      ('os.features', slice_of(STRING), 'omitempty'), ('variant', STRING, 'omitempty'))
OCI_DESCRIPTOR = struct(('mediaType', STRING, 'omitempty'), ('digest', STRING), ('size', INT64),
                        ('urls', slice_of(STRING), 'omitempty'), ('annotations', map_of(STRING), 'omitempty'),
                        ('data', BYTES, 'omitempty'), ('platform', pointer_to(OCI_PLATFORM), 'omitempty'),
                        ('artifactType', STRING, 'omitempty'))
OCI_MANIFEST = struct(('schemaVersion', INT64), ('mediaType', STRING, 'omitempty'), ('config', OCI_DESCRIPTOR),
                      ('layers', slice_of(OCI_DESCRIPTOR)), ('subject', pointer_to(OCI_DESCRIPTOR), 'omitempty'),
                      ('annotations', map_of(STRING), 'omitempty'))
OCI_INDEX = struct(('schemaVersion', INT64), ('mediaType', STRING, 'omitempty'), ('manifests', slice_of(OCI_DESCRIPTOR)),
                   ('annotations', map_of(STRING), 'omitempty'))
OCI_IMAGE_CONFIG = struct(
    ('created', TIME, 'omitempty'), ('author', STRING, 'omitempty'), ('architecture', STRING),
    ('variant', STRING, 'omitempty'), ('os', STRING), ('os.version', STRING, 'omitempty'),
    ('os.features', slice_of(STRING), 'omitempty'),
    ('config', struct(('User', STRING, 'omitempty'), ('ExposedPorts', map_of(EMPTY), 'omitempty'),
                      ('Env', slice_of(STRING), 'omitempty'), ('Entrypoint', slice_of(STRING), 'omitempty'),
                      ('Cmd', slice_of(STRING), 'omitempty'), ('Volumes', map_of(EMPTY), 'omitempty'),
                      ('WorkingDir', STRING, 'omitempty'), ('Labels', map_of(STRING), 'omitempty'),
                      ('StopSignal', STRING, 'omitempty'), ('ArgsEscaped', BOOL, 'omitempty')), 'omitempty'),
    ('rootfs', struct(('type', STRING), ('diff_ids', slice_of(STRING)))),
    ('history', slice_of(struct(('created', TIME, 'omitempty'), ('created_by', STRING, 'omitempty'),
                                ('author', STRING, 'omitempty'), ('comment', STRING, 'omitempty'),
                                ('empty_layer', BOOL, 'omitempty'))), 'omitempty'))

SCHEMA2_DESCRIPTOR = struct(('mediaType', STRING), ('size', INT64), ('digest', STRING),
                            ('urls', slice_of(STRING), 'omitempty'))
SCHEMA2_MANIFEST = struct(('schemaVersion', INT64), ('mediaType', STRING), ('config', SCHEMA2_DESCRIPTOR),
                          ('layers', slice_of(SCHEMA2_DESCRIPTOR)))
SCHEMA2_PLATFORM = struct(('architecture', STRING), ('os', STRING), ('os.version', STRING, 'omitempty'),
                          ('os.features', slice_of(STRING), 'omitempty'), ('variant', STRING, 'omitempty'),
                          ('features', slice_of(STRING), 'omitempty'))
SCHEMA2_LIST = struct(('schemaVersion', INT64), ('mediaType', STRING),
                      ('manifests', slice_of(embed(SCHEMA2_DESCRIPTOR, struct(('platform', SCHEMA2_PLATFORM))))))

# containers/image 5.23 manifest/docker_schema1.go and the schema 2 config parts it writes.
SCHEMA1_MANIFEST = struct(('name', STRING), ('tag', STRING), ('architecture', STRING),
                          ('fsLayers', slice_of(struct(('blobSum', STRING)))),
                          ('history', slice_of(struct(('v1Compatibility', STRING)))), ('schemaVersion', INT64))
SCHEMA1_V1_COMPATIBILITY = struct(('id', STRING), ('parent', STRING, 'omitempty'), ('comment', STRING, 'omitempty'),
                                  ('created', TIME_VALUE), ('container_config', struct(('Cmd', slice_of(STRING)))),
                                  ('author', STRING, 'omitempty'), ('throwaway', BOOL, 'omitempty'))
SCHEMA2_ROOTFS = struct(('type', STRING), ('diff_ids', slice_of(STRING), 'omitempty'))
SCHEMA2_HISTORY = struct(('created', TIME_VALUE), ('author', STRING, 'omitempty'), ('created_by', STRING, 'omitempty'),
                         ('comment', STRING, 'omitempty'), ('empty_layer', BOOL, 'omitempty'))
