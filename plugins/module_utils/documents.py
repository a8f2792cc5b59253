# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one guarded parser for JSON, TOML and YAML documents that come from outside (internal; no stable API).

Registries, token servers, auth files, registries.conf, OCI layouts and archives are all input an attacker (or
an accident) may shape. Each document goes through here: a size cap per kind of document, a nesting-depth limit
checked by a scan that does not recurse (json.loads, tomllib and PyYAML's composer all recurse per level, and a
400 KB body of ``[`` is a RecursionError in them), strict UTF-8 and strict JSON (no NaN/Infinity), and then
``check`` for the shape the caller relies on. Every failure is one typed error -- the class the caller names --
whose one-line message names the document and what is wrong, never its content (a token body may hold secrets).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.podkit.containers.plugins.module_utils.errors import PodkitError

KiB = 1024
MiB = 1024 * KiB

# Real documents nest a few levels (an index entry's annotations are at depth 4, a config's history at 3); 64
# leaves room for any legitimate producer and stays far below the interpreter's recursion limit, also when the
# parse runs deep in a call stack and when jsonschema walks the result.
MAX_DEPTH = 64


class Kind(object):
    """A kind of document: how it is called in messages, its size cap (bytes) and depth limit."""

    __slots__ = ('name', 'max_bytes', 'max_depth')

    def __init__(self, name, max_bytes, max_depth=MAX_DEPTH):
        self.name = name
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    def __repr__(self):
        return 'Kind(%r, %d)' % (self.name, self.max_bytes)


# The distribution spec's and containers/image's limit for manifests and indexes.
MANIFEST = Kind('manifest', 4 * MiB)
# Image configs carry the build history; containers/image reads up to 8 MiB of them.
CONFIG = Kind('image config', 8 * MiB)
TOKEN = Kind('token answer', 1 * MiB)
# Only the first bytes of an error body are read (client._ERROR_BODY_LIMIT); the cap is that limit's ceiling.
ERROR_BODY = Kind('error body', 64 * KiB)
# A page of a tag list: registries page at a few thousand tags; Docker Hub's biggest repositories need a few MiB.
TAG_LIST = Kind('tag list', 8 * MiB)
AUTH_FILE = Kind('auth file', 1 * MiB)
CREDENTIAL_HELPER = Kind('credential helper answer', 1 * MiB)
LAYOUT_INDEX = Kind('index.json', 4 * MiB)
ARCHIVE_MANIFEST = Kind('manifest.json', 4 * MiB)
REGISTRIES_CONF = Kind('registries.conf', 1 * MiB)
REGISTRIES_D = Kind('registries.d file', 1 * MiB)
POLICY = Kind('signature policy', 1 * MiB)
SIGNATURE = Kind('signature payload', 4 * MiB)
PRIVATE_KEY = Kind('private key', 1 * MiB)


def one_line(text):
    """``text`` with control characters escaped: a message is one line even when a path holds a newline."""
    return re.sub(r'[\x00-\x1f\x7f]', lambda m: '\\x%02x' % ord(m.group(0)), text)


def _size(n):
    if n >= MiB and n % MiB == 0:
        return '%d MiB' % (n // MiB)
    if n >= KiB and n % KiB == 0:
        return '%d KiB' % (n // KiB)
    return '%d bytes' % n


def fail(error, what, problem, **details):
    """The typed error ``error`` saying that document ``what`` ``problem`` (one line)."""
    return error(one_line('%s %s' % (what, problem)), **details)


def _text(raw, what, kind, error, details):
    if raw is None:
        raw = b''
    if isinstance(raw, bytearray):
        raw = bytes(raw)
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode('utf-8', 'surrogatepass'))
    if size > kind.max_bytes:
        raise fail(error, what, 'is larger than %s (%d bytes); refusing to parse it' % (_size(kind.max_bytes), size),
                   **details)
    if isinstance(raw, bytes):
        try:
            return raw.decode('utf-8')
        except UnicodeDecodeError as exc:
            raise fail(error, what, 'is not UTF-8 text (invalid byte at offset %d)' % exc.start, **details)
    return raw


# Strings (and TOML comments) are removed whole -- an unterminated one runs to the end -- so that brackets inside
# them do not count.
_JSON_SKIP = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.S)
_TOML_SKIP = re.compile(r'"""(?:[^\\]|\\.)*?(?:"""|\Z)|\'\'\'.*?(?:\'\'\'|\Z)|"[^"\\\n]*(?:\\.[^"\\\n]*)*"?'
                        r'|\'[^\'\n]*\'?|#[^\n]*', re.S)
_NOT_BRACKETS = re.compile(r'[^\[\]{}]+')
_AS_PARENS = {ord('['): '(', ord('{'): '(', ord(']'): ')', ord('}'): ')'}


def nesting_depth(text, skip=_JSON_SKIP, stop=MAX_DEPTH):
    """An upper bound of the bracket nesting of ``text`` outside strings, computed without recursion.

    Every pass removes the innermost bracket pairs (the leaves of the nesting tree), so a tree of height h is gone
    after h passes; brackets left unclosed add their number. At most ``stop + 1`` passes are made: the answer is
    exact up to ``stop`` and only "deeper" beyond. All passes run in C (re, str.replace), so a 4 MiB document costs
    milliseconds, not a Python loop over its characters.
    """
    brackets = _NOT_BRACKETS.sub('', skip.sub('', text)).translate(_AS_PARENS)
    passes = 0
    while '()' in brackets and passes <= stop:
        brackets = brackets.replace('()', '')
        passes += 1
    return passes + brackets.count('(')


def _check_depth(text, what, kind, error, details, skip=_JSON_SKIP):
    if text.count('[') + text.count('{') <= kind.max_depth:
        return  # no deeper than its number of opening brackets: most documents stop here
    if nesting_depth(text, skip, stop=kind.max_depth) > kind.max_depth:
        raise fail(error, what, 'is nested deeper than %d levels; refusing to parse it' % kind.max_depth, **details)


def _refuse_constant(name):
    raise ValueError('%s is not a JSON value' % name)


def load_json(raw, what, kind, error=PodkitError, **details):
    """The parsed JSON document ``raw`` (bytes or text), or ``error`` naming ``what`` and the problem.

    ``kind`` (a :class:`Kind`) gives the size cap and depth limit; ``details`` go into the error. The message
    never quotes the document.
    """
    text = _text(raw, what, kind, error, details)
    _check_depth(text, what, kind, error, details)
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:  # pragma: no cover - the depth scan makes this unreachable; kept as the last guard
        raise fail(error, what, 'is nested too deeply; refusing to parse it', **details)
    except ValueError as exc:
        problem = getattr(exc, 'msg', None) or str(exc)
        where = ''
        if isinstance(exc, json.JSONDecodeError):
            where = ' at line %s, column %s' % (exc.lineno, exc.colno)
        if not text.strip():
            problem, where = 'it is empty', ''
        raise fail(error, what, 'is not valid JSON%s: %s' % (where, _short(problem)), **details)


_TOML_WHERE = re.compile(r'\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$')


def load_toml(raw, what, kind, parser, error=PodkitError, **details):
    """The parsed TOML document (a dict) via ``parser`` (tomllib or tomli), or ``error`` "not valid TOML at line N"."""
    text = _text(raw, what, kind, error, details)
    _check_depth(text, what, kind, error, details, skip=_TOML_SKIP)
    try:
        return parser.loads(text)
    except parser.TOMLDecodeError as exc:
        message = str(exc).splitlines()[0] if str(exc) else 'syntax error'
        match = _TOML_WHERE.search(message)
        where = ''
        if match:
            message = message[:match.start()]
            where = (' at line %s, column %s' % match.groups()) if match.group(1) else ' at the end of the document'
        raise fail(error, what, 'is not valid TOML%s: %s' % (where, _short(message[:1].lower() + message[1:])),
                   **details)
    except RecursionError:  # pragma: no cover - the depth scan makes this unreachable
        raise fail(error, what, 'is nested too deeply; refusing to parse it', **details)


def load_yaml(raw, what, kind, yaml, error=PodkitError, **details):
    """The parsed YAML document via the PyYAML module ``yaml`` (safe loader), depth checked on its event stream.

    YAML nests by indentation and by ``- - -`` as well as by brackets, so the depth is counted on the parser's
    events, which PyYAML produces without recursion; only then does the (recursive) composer build the data.
    """
    text = _text(raw, what, kind, error, details)
    loader = getattr(yaml, 'CSafeLoader', None) or yaml.SafeLoader
    try:
        depth = 0
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > kind.max_depth:
                    raise fail(error, what, 'is nested deeper than %d levels; refusing to parse it' % kind.max_depth,
                               **details)
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        where = (' at line %d, column %d' % (mark.line + 1, mark.column + 1)) if mark is not None else ''
        problem = getattr(exc, 'problem', None) or 'syntax error'
        raise fail(error, what, 'is not valid YAML%s: %s' % (where, _short(str(problem))), **details)
    except RecursionError:  # pragma: no cover - the event scan makes this unreachable
        raise fail(error, what, 'is nested too deeply; refusing to parse it', **details)


def _short(text, limit=200):
    text = str(text)
    return text if len(text) <= limit else text[:limit] + '...'


# -- shapes ------------------------------------------------------------------------------------------
#
# A shape says what a caller relies on, so a wrong type is a message instead of a TypeError three calls later:
#   str, int, bool, float, dict, list      that Python type (int excludes bool; float accepts int)
#   Object(required={...}, optional={...}) a JSON object with those members (others allowed)
#   ListOf(shape), MapOf(shape)            a list / an object whose every value has the shape
#   Either(shape, ...)                     the first shape that fits
#   Nullable(shape)                        null or the shape
#   ANY                                    anything


class _Shape(object):
    def describe(self):
        raise NotImplementedError

    def problem(self, value, path):
        """(path, what is wrong there) of the first mismatch, or None."""
        raise NotImplementedError


class _Any(_Shape):
    def describe(self):
        return 'any value'

    def problem(self, value, path):
        return None


ANY = _Any()

_TYPE_NAMES = {str: 'a string', int: 'an integer', bool: 'a boolean', float: 'a number', dict: 'an object',
               list: 'a list'}


def _type_name(value):
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'a boolean'
    if isinstance(value, int):
        return 'an integer'
    if isinstance(value, float):
        return 'a number'
    if isinstance(value, str):
        return 'a string'
    if isinstance(value, list):
        return 'a list'
    if isinstance(value, dict):
        return 'an object'
    return type(value).__name__


MISSING = 'is missing (expected %s)'


def _mismatch(expected, value):
    return 'must be %s, not %s' % (_short(expected), _type_name(value))


def _fits_type(value, kind):
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, kind)


class _Type(_Shape):
    def __init__(self, kind):
        self.kind = kind

    def describe(self):
        return _TYPE_NAMES[self.kind]

    def problem(self, value, path):
        if _fits_type(value, self.kind):
            return None
        return path, _mismatch(self.describe(), value)


def _shape(spec):
    if isinstance(spec, _Shape):
        return spec
    if spec in _TYPE_NAMES:
        return _Type(spec)
    raise TypeError('not a shape: %r' % (spec,))


def _member_path(path, name):
    if re.match(r'^[A-Za-z_][A-Za-z0-9_-]*\Z', name):
        return '%s.%s' % (path, name)
    return '%s[%s]' % (path, json.dumps(name))


class Object(_Shape):
    def __init__(self, required=None, optional=None):
        self.required = [(name, _shape(spec)) for name, spec in sorted((required or {}).items())]
        self.optional = [(name, _shape(spec)) for name, spec in sorted((optional or {}).items())]

    def describe(self):
        if not self.required:
            return 'an object'
        return 'an object with %s' % ', '.join('%s: %s' % (name, shape.describe()) for name, shape in self.required)

    def problem(self, value, path):
        if not isinstance(value, dict):
            return path, _mismatch(self.describe(), value)
        for name, shape in self.required:
            if name not in value:
                return _member_path(path, name), MISSING % shape.describe()
            found = shape.problem(value[name], _member_path(path, name))
            if found:
                return found
        for name, shape in self.optional:
            if name in value:
                found = shape.problem(value[name], _member_path(path, name))
                if found:
                    return found
        return None


class ListOf(_Shape):
    def __init__(self, item):
        self.item = _shape(item)

    def describe(self):
        return 'a list of %s' % _plural(self.item.describe())

    def problem(self, value, path):
        if not isinstance(value, list):
            return path, _mismatch(self.describe(), value)
        for i, item in enumerate(value):
            found = self.item.problem(item, '%s[%d]' % (path, i))
            if found:
                return found
        return None


class MapOf(_Shape):
    def __init__(self, item):
        self.item = _shape(item)

    def describe(self):
        return 'an object of %s' % _plural(self.item.describe())

    def problem(self, value, path):
        if not isinstance(value, dict):
            return path, _mismatch(self.describe(), value)
        for name in sorted(value, key=str):
            found = self.item.problem(value[name], _member_path(path, str(name)))
            if found:
                return found
        return None


class Either(_Shape):
    def __init__(self, *shapes):
        self.shapes = [_shape(s) for s in shapes]

    def describe(self):
        return ' or '.join(s.describe() for s in self.shapes)

    def problem(self, value, path):
        found = None
        for shape in self.shapes:
            found = shape.problem(value, path)
            if found is None:
                return None
        if len(self.shapes) == 1:
            return found
        return path, _mismatch(self.describe(), value)


class Nullable(_Shape):
    def __init__(self, shape):
        self.shape = _shape(shape)

    def describe(self):
        return 'null or %s' % self.shape.describe()

    def problem(self, value, path):
        return None if value is None else self.shape.problem(value, path)


def _plural(description):
    words = description.split(' ', 1)
    if len(words) == 2 and words[0] in ('a', 'an'):
        noun, sep, rest = words[1].partition(' ')
        return noun + 's' + sep + rest
    return description


def check(value, shape, what, error=PodkitError, **details):
    """``value`` unchanged when it has ``shape``; else ``error``: "<what> is not valid: $.a[0].b must be ..."."""
    found = _shape(shape).problem(value, '$')
    if found is None:
        return value
    path, problem = found
    where = 'the document' if path == '$' else path
    details.setdefault('json_path', path)
    raise fail(error, what, 'is not valid: %s %s' % (where, problem), **details)
