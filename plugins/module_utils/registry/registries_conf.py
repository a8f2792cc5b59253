# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""containers-registries.conf(5) (internal; no stable API).

Reads the same files podman and skopeo read and answers the questions a pull needs:
which fully-qualified names a short name stands for (aliases, unqualified-search-registries,
short-name-mode), and for a fully-qualified name which ``[[registry]]`` table applies
(longest ``prefix`` match, ``*.example.com`` wildcards), whether it is blocked or insecure,
where ``location`` redirects it and which mirrors to try first.

The deprecated version 1 tables (``[registries.search]``, ``[registries.insecure]``,
``[registries.block]``) are translated to their version 2 meaning; mixing both is an error,
as it is for containers/image.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import os
import re
import sys

from ansible_collections.podkit.containers.plugins.module_utils import documents
from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError, InvalidReferenceError
from ansible_collections.podkit.containers.plugins.module_utils.registry.reference import (
    Reference,
    is_short_name,
    parse_reference,
    strip_docker_prefix,
)

_LOAD_ON_USE = object()
_LOADED_PARSER = []

# The TOML parser in use (a module with ``loads`` and ``TOMLDecodeError``), or None; tests replace it. By default
# it is imported when a file is there to parse (_toml_parser), not with this module.
TOML_PARSER = _LOAD_ON_USE


def _toml_parser():
    """TOML_PARSER, or when it is left to load on use, tomllib (Python 3.11+) or tomli, else None."""
    if TOML_PARSER is not _LOAD_ON_USE:
        return TOML_PARSER
    if not _LOADED_PARSER:
        try:
            import tomllib as parser  # Python 3.11+
        except ImportError:  # pragma: no cover - depends on the Python version
            try:
                import tomli as parser
            except ImportError:
                parser = None
        _LOADED_PARSER.append(parser)
    return _LOADED_PARSER[0]


SYSTEM_REGISTRIES_CONF = '/etc/containers/registries.conf'
USER_REGISTRIES_CONF = os.path.join('.config', 'containers', 'registries.conf')
ENV_REGISTRIES_CONF = 'CONTAINERS_REGISTRIES_CONF'
SHORT_NAME_MODES = ('enforcing', 'permissive', 'disabled')
PULL_FROM_MIRROR_VALUES = ('all', 'digest-only', 'tag-only')

ShortNameResolution = collections.namedtuple('ShortNameResolution', ['candidates', 'method', 'mode'])
ShortNameResolution.__doc__ = """How a short name resolved.

``candidates``: fully-qualified reference strings to try in order; ``method``: 'alias',
'search' or 'qualified' (the name was not short); ``mode``: the effective short-name-mode.
"""


def registries_conf_paths(path=None, env=None):
    """(main file, [drop-in files]) that load_registries_conf reads; the main file may not exist.

    An explicit ``path`` or ``$CONTAINERS_REGISTRIES_CONF`` selects exactly one file. Otherwise the
    rootless ``~/.config/containers/registries.conf`` wins over ``/etc/containers/registries.conf``
    when it exists, and the ``registries.conf.d/*.conf`` next to the chosen file follow, sorted.
    """
    env = os.environ if env is None else env
    if path:
        return path, []
    if env.get(ENV_REGISTRIES_CONF):
        return env[ENV_REGISTRIES_CONF], []
    main = SYSTEM_REGISTRIES_CONF
    home = env.get('HOME')
    if home:
        user = os.path.join(home, USER_REGISTRIES_CONF)
        if os.path.exists(user):
            main = user
    dropin_dir = main + '.d'
    try:
        names = sorted(n for n in os.listdir(dropin_dir) if n.endswith('.conf'))
    except OSError:
        names = []
    return main, [os.path.join(dropin_dir, n) for n in names if os.path.isfile(os.path.join(dropin_dir, n))]


def _read_text(path):
    """The file's text, or None when it does not exist."""
    try:
        with open(path, 'rb') as handle:
            raw = handle.read()
    except (IOError, OSError) as err:
        if not os.path.exists(path):
            return None
        raise ConfigError('cannot read %s: %s' % (path, getattr(err, 'strerror', None) or err), path=path)
    try:
        return raw.decode('utf-8')
    except UnicodeDecodeError:
        raise ConfigError('cannot read %s: it is not UTF-8 text' % path, path=path)


def _no_parser_reason(path):
    return ("cannot read %s: Python %d.%d has no TOML parser; install the 'tomli' package on the target "
            "or use fully qualified image names" % (path, sys.version_info[0], sys.version_info[1]))


def _parse_toml(path, text, parser):
    return documents.load_toml(text, path, documents.REGISTRIES_CONF, parser, ConfigError, path=path)


class RegistryEntry(object):
    """One ``[[registry]]`` table after defaults: ``prefix`` (defaults to ``location``), ``location``
    (may be empty only for a ``*.`` wildcard prefix), ``insecure``, ``blocked``, ``mirrors`` (dicts with
    ``location``, ``insecure``, ``pull-from-mirror``), ``mirror_by_digest_only``, ``source`` (file)."""

    __slots__ = ('prefix', 'location', 'insecure', 'blocked', 'mirrors', 'mirror_by_digest_only', 'source')

    def __init__(self, prefix, location, insecure=False, blocked=False, mirrors=None, mirror_by_digest_only=False, source=None):
        self.prefix = prefix
        self.location = location
        self.insecure = insecure
        self.blocked = blocked
        self.mirrors = list(mirrors or [])
        self.mirror_by_digest_only = mirror_by_digest_only
        self.source = source

    @property
    def wildcard(self):
        return self.prefix.startswith('*.')

    def __repr__(self):
        return 'RegistryEntry(prefix=%r, location=%r, insecure=%r, blocked=%r, mirrors=%r)' % (
            self.prefix, self.location, self.insecure, self.blocked, self.mirrors)


def _bool(value, what, path):
    if not isinstance(value, bool):
        raise ConfigError('%s: %s must be true or false' % (path, what), path=path)
    return value


def _string(value, what, path):
    if not isinstance(value, str):
        raise ConfigError('%s: %s must be a string' % (path, what), path=path)
    return value.strip()


def _string_list(value, what, path):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError('%s: %s must be an array of strings' % (path, what), path=path)
    return [v.strip() for v in value]


def _check_location(value, what, path):
    """Strip a trailing '/'; a scheme is an error (registries.conf names hosts, not URLs)."""
    if re.match(r'^[a-zA-Z][a-zA-Z0-9+.-]*://', value):
        raise ConfigError("%s: %s '%s' must not include a scheme such as https://; write host[:port][/namespace]"
                          % (path, what, value), path=path)
    return value.rstrip('/')


def _check_prefix(prefix, path):
    prefix = _check_location(prefix, 'registry prefix', path)
    if '*' in prefix:
        # The man page allows the wildcard only as a leading "*." on a bare host.
        if not re.match(r'^\*\.[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\Z', prefix):
            raise ConfigError("%s: registry prefix '%s' is not valid: a wildcard is only allowed as '*.example.com' "
                              "(no port, namespace or other '*')" % (path, prefix), path=path)
        return prefix.lower()
    return prefix


def _parse_mirror(table, path):
    if not isinstance(table, dict):
        raise ConfigError('%s: every [[registry.mirror]] must be a table' % path, path=path)
    location = _check_location(_string(table.get('location', ''), 'mirror location', path), 'mirror location', path)
    if not location:
        raise ConfigError('%s: a [[registry.mirror]] has no location' % path, path=path)
    pull_from = _string(table.get('pull-from-mirror', 'all'), 'pull-from-mirror', path) or 'all'
    if pull_from not in PULL_FROM_MIRROR_VALUES:
        raise ConfigError("%s: pull-from-mirror '%s' for mirror %s must be one of %s"
                          % (path, pull_from, location, ', '.join(PULL_FROM_MIRROR_VALUES)), path=path)
    return {'location': location,
            'insecure': _bool(table.get('insecure', False), 'mirror insecure', path),
            'pull-from-mirror': pull_from}


def _parse_registry(table, path):
    if not isinstance(table, dict):
        raise ConfigError('%s: every [[registry]] must be a table' % path, path=path)
    location = _check_location(_string(table.get('location', ''), 'registry location', path), 'registry location', path)
    prefix = _string(table.get('prefix', ''), 'registry prefix', path)
    prefix = _check_prefix(prefix, path) if prefix else location
    if not prefix:
        raise ConfigError('%s: a [[registry]] has neither prefix nor location' % path, path=path)
    if not location and not prefix.startswith('*.'):
        location = prefix
    mirrors = table.get('mirror', [])
    if not isinstance(mirrors, list):
        raise ConfigError('%s: mirror of registry %s must be an array of tables ([[registry.mirror]])' % (path, prefix), path=path)
    return RegistryEntry(
        prefix=prefix,
        location=location,
        insecure=_bool(table.get('insecure', False), 'insecure', path),
        blocked=_bool(table.get('blocked', False), 'blocked', path),
        mirrors=[_parse_mirror(m, path) for m in mirrors],
        mirror_by_digest_only=_bool(table.get('mirror-by-digest-only', False), 'mirror-by-digest-only', path),
        source=path,
    )


class _Merged(object):
    """The result of applying the main file and its drop-ins in order."""

    def __init__(self):
        self.search = []
        self.aliases = {}
        self.mode = ''
        self.registries = collections.OrderedDict()

    def apply(self, data, path):
        v1 = data.get('registries')
        has_v2 = 'registry' in data or 'unqualified-search-registries' in data
        if v1 is not None:
            if has_v2:
                raise ConfigError('%s mixes the version 1 [registries.*] tables with version 2 settings; use only version 2' % path,
                                  path=path)
            data = self._from_v1(v1, path)
        if 'unqualified-search-registries' in data:
            # An explicit (even empty) list in a later file replaces the earlier one.
            search = _string_list(data['unqualified-search-registries'], 'unqualified-search-registries', path)
            for host in search:
                if not host or '/' in host or '://' in host:
                    raise ConfigError("%s: unqualified-search-registries entry '%s' must be a host[:port]" % (path, host), path=path)
            self.search = search
        mode = _string(data.get('short-name-mode', ''), 'short-name-mode', path)
        if mode:
            if mode not in SHORT_NAME_MODES:
                raise ConfigError("%s: short-name-mode '%s' must be one of %s" % (path, mode, ', '.join(SHORT_NAME_MODES)), path=path)
            self.mode = mode
        aliases = data.get('aliases', {})
        if not isinstance(aliases, dict):
            raise ConfigError('%s: [aliases] must be a table' % path, path=path)
        for name, value in aliases.items():
            value = _string(value, "alias '%s'" % name, path)
            if not value:
                self.aliases.pop(name, None)  # an empty value erases an alias set by an earlier file
                continue
            self.aliases[name] = _check_alias(name, value, path)
        registries = data.get('registry', [])
        if not isinstance(registries, list):
            raise ConfigError('%s: registry must be an array of tables ([[registry]])' % path, path=path)
        seen = set()
        for table in registries:
            entry = _parse_registry(table, path)
            if entry.prefix in seen:
                raise ConfigError("%s: registry prefix '%s' is defined more than once" % (path, entry.prefix), path=path)
            seen.add(entry.prefix)
            # A drop-in replaces the whole table for the same prefix.
            self.registries.pop(entry.prefix, None)
            self.registries[entry.prefix] = entry

    @staticmethod
    def _from_v1(v1, path):
        if not isinstance(v1, dict):
            raise ConfigError('%s: [registries] must be a table' % path, path=path)
        lists = {}
        for kind in ('search', 'insecure', 'block'):
            table = v1.get(kind, {})
            if not isinstance(table, dict):
                raise ConfigError('%s: [registries.%s] must be a table' % (path, kind), path=path)
            lists[kind] = _string_list(table.get('registries', []), 'registries.%s.registries' % kind, path)
        tables = collections.OrderedDict()
        for kind, flag in (('insecure', 'insecure'), ('block', 'blocked')):
            for host in lists[kind]:
                tables.setdefault(host, {'location': host})[flag] = True
        data = {'registry': list(tables.values())}
        if lists['search']:
            data['unqualified-search-registries'] = lists['search']
        return data


def _check_alias(name, value, path):
    if not is_short_name(name) or '@' in name or ':' in name.rpartition('/')[2]:
        raise ConfigError("%s: alias name '%s' must be a short name without registry, tag or digest" % (path, name), path=path)
    try:
        parse_reference(name)
        ref = parse_reference(value, default_tag=None)
    except InvalidReferenceError as err:
        raise ConfigError('%s: alias %s: %s' % (path, name, err.msg), path=path)
    if is_short_name(value) or ref.tag or ref.digest:
        raise ConfigError("%s: alias %s = '%s' must be a fully-qualified name without tag or digest" % (path, name, value), path=path)
    return ref.name


def _strip_for_scan(text):
    """The text minus comments, the search list and [aliases]: what is left can configure a registry."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith('#')]
    text = '\n'.join(lines)
    text = re.sub(r'unqualified-search-registries\s*=\s*\[[^\]]*\]', '', text)
    text = re.sub(r'(?ms)^\s*\[aliases\][^\[]*', '', text)
    return text.lower()


class RegistriesConf(object):
    """The merged registries.conf: ``unqualified_search_registries``, ``aliases``, ``short_name_mode``,
    ``registries`` (RegistryEntry list), ``files`` (what was read).

    ``unavailable_reason`` is set when a file exists but no TOML parser is available; the methods
    then raise ConfigError with it as soon as they would need the unread data.
    """

    def __init__(self, unqualified_search_registries=None, aliases=None, short_name_mode=None, registries=None,
                 files=None, unavailable_reason=None, unparsed_texts=None):
        self.unqualified_search_registries = list(unqualified_search_registries or [])
        self.aliases = dict(aliases or {})
        self.short_name_mode = short_name_mode or 'permissive'
        self.registries = list(registries or [])
        self.files = list(files or [])
        self.unavailable_reason = unavailable_reason
        self._unparsed = [_strip_for_scan(t) for t in (unparsed_texts or [])]

    # -- data that may not have been read ------------------------------------------------------
    def _require(self, name=None):
        """Raise the stored reason when the unread files could matter for ``name`` (None: always)."""
        if not self.unavailable_reason:
            return
        if name is not None:
            host = name.split('/', 1)[0].lower()
            hostname = host if host.startswith('[') else host.rsplit(':', 1)[0]
            parts = hostname.split('.')
            needles = [hostname] + ['*.' + '.'.join(parts[i:]) for i in range(1, len(parts))]
            if not any(needle in text for text in self._unparsed for needle in needles):
                return
        raise ConfigError(self.unavailable_reason)

    # -- short names ----------------------------------------------------------------------------
    def resolve_short_name(self, name, default_tag='latest'):
        """ShortNameResolution for ``name`` (which may carry a tag or digest).

        A fully-qualified name resolves to itself ('qualified'). An alias wins over the search list;
        tag and digest of the input are kept. With short-name-mode ``enforcing`` and several search
        registries there is no terminal to ask, so that is an error, as it is for podman.
        """
        text = strip_docker_prefix(str(name).strip())
        ref = parse_reference(text, default_tag=None)  # validates the whole input
        if not is_short_name(text):
            return ShortNameResolution([str(parse_reference(text, default_tag=default_tag))], 'qualified', self.short_name_mode)
        self._require()
        bare, suffix = _split_suffix(text)
        alias = self.aliases.get(bare)
        if alias is not None:
            return ShortNameResolution([str(parse_reference(alias + suffix, default_tag=default_tag))], 'alias', self.short_name_mode)
        if not self.unqualified_search_registries:
            raise ConfigError("short name '%s' did not resolve to an alias and no unqualified-search-registries are defined in %s; "
                              "use a fully qualified image name (e.g. %s)" % (text, self._describe_files(), ref), short_name=text)
        if self.short_name_mode == 'enforcing' and len(self.unqualified_search_registries) > 1:
            raise ConfigError("short name '%s' is ambiguous: short-name-mode is enforcing and %d unqualified-search-registries "
                              "are defined (%s); use a fully qualified image name or add an alias"
                              % (text, len(self.unqualified_search_registries), ', '.join(self.unqualified_search_registries)),
                              short_name=text)
        candidates = []
        for registry in self.unqualified_search_registries:
            try:
                candidate = str(parse_reference('%s/%s' % (registry, text), default_tag=default_tag))
            except InvalidReferenceError as err:
                raise ConfigError("unqualified-search-registries entry '%s' in %s does not form a valid name with '%s': %s"
                                  % (registry, self._describe_files(), text, err.msg))
            if candidate not in candidates:
                candidates.append(candidate)
        return ShortNameResolution(candidates, 'search', self.short_name_mode)

    def _describe_files(self):
        return ', '.join(self.files) if self.files else SYSTEM_REGISTRIES_CONF

    # -- [[registry]] tables --------------------------------------------------------------------
    def find_registry(self, reference_or_name):
        """The [[registry]] entry with the longest matching prefix, or None.

        Accepts a Reference, a name (``host[:port]/path[:tag][@digest]``, docker.io names are
        normalized) or a bare ``host[:port]``.
        """
        text = _match_text(reference_or_name)
        self._require(text)
        best, best_key = None, None
        for entry in self.registries:
            length = _match_length(entry.prefix, text)
            if length < 0:
                continue
            key = (length, 0 if entry.wildcard else 1)  # an exact host beats a wildcard of the same length
            if best_key is None or key > best_key:
                best, best_key = entry, key
        return best

    def is_insecure(self, host):
        """``insecure = true`` for the registry (a host[:port], a name or a Reference)."""
        entry = self.find_registry(host)
        return bool(entry and entry.insecure)

    def is_blocked(self, name):
        entry = self.find_registry(name)
        return bool(entry and entry.blocked)

    def refuse_blocked(self, name, entry=None):
        """ConfigError when ``name`` matches a ``blocked = true`` entry (reads and writes alike, as containers/image)."""
        entry = entry if entry is not None else self.find_registry(name)
        if entry is not None and entry.blocked:
            raise ConfigError("registry %s is blocked in registries.conf (prefix '%s' in %s)"
                              % (_match_text(name).split('/', 1)[0], entry.prefix, entry.source), prefix=entry.prefix)

    def rewrite(self, name):
        """The name with the matching prefix replaced by the entry's ``location`` (pulls only, as in podman)."""
        text = _match_text(name)
        entry = self.find_registry(text)
        if entry is None or not entry.location:
            return text
        return entry.location + text[_match_length(entry.prefix, text):]

    def pull_sources(self, name):
        """[(name, insecure)] to try in order: the usable mirrors, then the primary (rewritten) location.

        ``pull-from-mirror`` (and ``mirror-by-digest-only``) decide whether a mirror serves a
        reference by tag or by digest. A blocked name raises ConfigError.
        """
        text = _match_text(name)
        entry = self.find_registry(text)
        if entry is None:
            return [(text, False)]
        self.refuse_blocked(text, entry)
        matched = _match_length(entry.prefix, text)
        rest = text[matched:]
        by_digest = '@' in text
        sources = []
        for mirror in entry.mirrors:
            mode = 'digest-only' if entry.mirror_by_digest_only else mirror['pull-from-mirror']
            if (mode == 'digest-only' and not by_digest) or (mode == 'tag-only' and by_digest):
                continue
            sources.append((mirror['location'] + rest, mirror['insecure']))
        sources.append(((entry.location + rest) if entry.location else text, entry.insecure))
        return sources

    def __repr__(self):
        return 'RegistriesConf(files=%r, search=%r, aliases=%d, registries=%r)' % (
            self.files, self.unqualified_search_registries, len(self.aliases), self.registries)


def _split_suffix(text):
    """(name, ':tag@digest' suffix) of a short name."""
    name, at, digest = text.partition('@')
    suffix = ('@' + digest) if at else ''
    colon = name.rfind(':')
    if colon > name.rfind('/'):
        suffix = name[colon:] + suffix
        name = name[:colon]
    return name, suffix


def _match_text(value):
    if isinstance(value, Reference):
        return str(value)
    text = strip_docker_prefix(str(value).strip())
    if '/' not in text:
        return text.lower()  # a bare host[:port]
    try:
        return str(parse_reference(text, default_tag=None))
    except InvalidReferenceError:
        return text


def _match_length(prefix, text):
    """Length of ``text`` that ``prefix`` covers, or -1 when it does not apply."""
    if prefix.startswith('*.'):
        host = text.split('/', 1)[0]
        hostname = host if host.startswith('[') else host.rsplit(':', 1)[0]
        if hostname.lower().endswith(prefix[1:]) and len(hostname) > len(prefix) - 1:
            return len(hostname)
        return -1
    if text == prefix:
        return len(prefix)
    if not text.startswith(prefix) or len(text) <= len(prefix):
        return -1
    # A bare host prefix must be followed by '/' ("example.com" is not a prefix of "example.com:5000/x");
    # a longer prefix may also end at the tag or digest separator.
    allowed = '/:@' if '/' in prefix else '/'
    return len(prefix) if text[len(prefix)] in allowed else -1


def load_registries_conf(path=None, env=None):
    """RegistriesConf from the files podman would read (see registries_conf_paths); missing files are empty."""
    main, dropins = registries_conf_paths(path, env)
    merged = _Merged()
    files = []
    unavailable = None
    unparsed = []
    for file_path in [main] + dropins:
        text = _read_text(file_path)
        if text is None:
            continue
        files.append(file_path)
        parser = _toml_parser()
        if parser is None:
            unavailable = unavailable or _no_parser_reason(file_path)
            unparsed.append(text)
            continue
        data = _parse_toml(file_path, text, parser)
        merged.apply(data, file_path)
    return RegistriesConf(
        unqualified_search_registries=merged.search,
        aliases=merged.aliases,
        short_name_mode=merged.mode,
        registries=list(merged.registries.values()),
        files=files,
        unavailable_reason=unavailable,
        unparsed_texts=unparsed,
    )
