# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd unit and Quadlet rendering for one container (internal; no stable API).

Pure functions: a container spec (the option names of container_state) plus unit options in,
text out. Nothing here touches the file system or runs a command, except ``default_directory``
which only reads the environment it is given.

``format: unit`` mirrors ``podman generate systemd --new --name`` of podman 4.3: the container is
created by ``podman run --rm --replace`` at every start, so the unit alone recreates it after a reboot.
``format: quadlet`` renders a ``.container`` file for the Quadlet generator of podman >= 4.4, using
only the keys of podman 4.4 (``QUADLET_KEYS``); options without a 4.4 key go to ``PodmanArgs=``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import posixpath
import re

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError

# One spec feeds `podman create` (container_state) and the unit's `podman run`: the argv comes from there.
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.spec import (
    OPTIONS as SPEC_TABLE, SHARED_KEYS as SPEC_OPTIONS, ContainerSpec,
)

FORMATS = ('unit', 'quadlet')
# format=auto: Quadlet where podman has the generator, else the rendered unit (see auto_format).
AUTO_FORMAT = 'auto'
SCOPES = ('system', 'user')
RESTART_POLICIES = ('no', 'on-success', 'on-failure', 'on-abnormal', 'on-watchdog', 'on-abort', 'always')
DEFAULT_STOP_TIMEOUT = 10
# podman generate systemd adds this margin so that `podman stop -t N` and `podman rm` finish before
# systemd kills the control process (TimeoutStopSec=70 for the default -t 10).
STOP_TIMEOUT_MARGIN = 60
DEFAULT_PODMAN = '/usr/bin/podman'

# The keys of the Quadlet [Container] group and the podman release that introduced each one
# (podman-systemd.unit(5); releases cross-checked with the podlet project's per-version downgrades).
# A key an option of the spec renders to is in that option's row (spec.OPTIONS, Quadlet); these are the others.
# The renderer emits only keys of QUADLET_MIN_VERSION (the rest goes to PodmanArgs=); the table is what the
# tests check rendered files against, and what the module documentation prints.
QUADLET_MIN_VERSION = '4.4'
_QUADLET_OTHER_KEYS = {
    'ContainerName': '4.4', 'EnvironmentHost': '4.4', 'ExposeHostPort': '4.4', 'Group': '4.4', 'Image': '4.4',
    'NoNewPrivileges': '4.4', 'Notify': '4.4', 'PodmanArgs': '4.4', 'SeccompProfile': '4.4',
    'SecurityLabelDisable': '4.4', 'SecurityLabelFileType': '4.4', 'SecurityLabelLevel': '4.4',
    'SecurityLabelType': '4.4',
    'IP6': '4.5', 'Rootfs': '4.5',
    'AutoUpdate': '4.6', 'Pull': '4.6', 'Mask': '4.6', 'Unmask': '4.6', 'SecurityLabelNested': '4.6',
    'SubGIDMap': '4.8', 'SubUIDMap': '4.8',
}
QUADLET_KEYS = dict(_QUADLET_OTHER_KEYS)
QUADLET_KEYS.update((q.key, q.since) for row in SPEC_TABLE for q in row.quadlet)
# Groups of a .container file that Quadlet passes to systemd unchanged.
QUADLET_SYSTEMD_GROUPS = ('Unit', 'Service', 'Install')

_UNIT_NAME_RE = re.compile(r'^[A-Za-z0-9:_.\\-]+$')
_SYSTEMD_ENV_NAME_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
_CONTROL_RE = re.compile(u'[\x00-\x08\x0a-\x1f\x7f]')
_PLAIN_WORD_RE = re.compile(r'^[A-Za-z0-9_@%+=:,./$-]+$')


# ---------------------------------------------------------------- quoting

def _check_line(option, value):
    """A value must fit on one line of a unit file: systemd has no escape for a newline in every key."""
    if _CONTROL_RE.search(value):
        raise ConfigError('%s: %r contains a newline or another control character, which a systemd unit '
                          'line cannot hold; remove it (or put the value in a file the container reads)'
                          % (option, value), option=option)


def _escape_specifiers(value, dollar=True):
    """`%` starts a systemd specifier everywhere; `$` starts a variable only in Exec*= command lines."""
    value = value.replace('%', '%%')
    if dollar:
        value = value.replace('$', '$$')
    return value


def quote_word(value, option='value', dollar=True):
    """One word of a systemd command line (systemd.service(5) "Command lines") or an Environment= word.

    Plain words stay as they are; anything else is double-quoted with `\\` and `"` escaped, which
    systemd's C-style unescaping turns back into the original. `%` -> `%%` always, `$` -> `$$` when
    ``dollar`` (command lines expand $VAR; Environment= does not).
    """
    value = u'%s' % (value,)
    _check_line(option, value)
    escaped = _escape_specifiers(value, dollar=dollar)
    if escaped and _PLAIN_WORD_RE.match(escaped):
        return escaped
    return u'"%s"' % escaped.replace('\\', '\\\\').replace('"', '\\"')


def quote_command(argv, option='command'):
    return u' '.join(quote_word(arg, option=option) for arg in argv)


# ---------------------------------------------------------------- spec -> podman run arguments

def _as_list(option, value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [u'%s' % (v,) for v in value]
    return [u'%s' % (value,)]


def _scalar(value):
    if isinstance(value, bool):
        return u'true' if value else u'false'
    return u'%s' % (value,)


def container_spec(name, params):
    """The lifecycle engine's ContainerSpec of these params (same option names as container_state).

    Only the shared spec (SPEC_OPTIONS): restart_policy is systemd's Restart= here, and podman's own restart
    policy would fight it (the container runs with --rm).
    """
    return ContainerSpec.from_params(dict(params, name=name), keys=SPEC_OPTIONS)


def _spec_argv(spec):
    """[(row, argv)] of the container's own `podman run` options, in the order of spec.create_args()."""
    if not spec.image:
        raise ConfigError('image is required to render a unit from the spec options', option='image')
    return [(row, [u'%s' % a for a in argv]) for row, argv in spec.argv_by_option()]


# ---------------------------------------------------------------- unit options

class UnitOptions(object):
    """What the unit adds around the container: restart, timeouts, dependencies, environment."""

    def __init__(self, name, scope='system', unit_name=None, restart_policy='on-failure', restart_sec=None,
                 stop_timeout=None, after=None, wants=None, requires=None, environment=None, auth_file=None,
                 podman_path=DEFAULT_PODMAN, runtime_dir=None):
        if not name or not re.match(r'^[a-zA-Z0-9][a-zA-Z0-9_.-]*$', name):
            raise ConfigError('name: %r is not a valid container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)' % (name,),
                              option='name')
        if scope not in SCOPES:
            raise ConfigError('scope: %r is not one of %s' % (scope, ', '.join(SCOPES)), option='scope')
        restart_policy = systemd_restart_policy(restart_policy)
        if restart_policy not in RESTART_POLICIES:
            raise ConfigError('restart_policy: %r is not one of %s' % (restart_policy, ', '.join(RESTART_POLICIES)),
                              option='restart_policy')
        self.name = name
        self.scope = scope
        self.unit_name = unit_name
        self.restart_policy = restart_policy
        self.restart_sec = restart_sec
        self.stop_timeout = DEFAULT_STOP_TIMEOUT if stop_timeout is None else int(stop_timeout)
        if self.stop_timeout < 0:
            raise ConfigError('stop_timeout: must be 0 or more seconds', option='stop_timeout')
        self.after = _unit_list('after', after)
        self.wants = _unit_list('wants', wants)
        self.requires = _unit_list('requires', requires)
        self.environment = _systemd_environment(environment)
        self.auth_file = _check_auth_file(auth_file, runtime_dir)
        self.podman_path = podman_path or DEFAULT_PODMAN
        if not posixpath.isabs(self.podman_path):
            raise ConfigError('podman path %r is not absolute: systemd needs an absolute ExecStart' % self.podman_path)


def systemd_restart_policy(value):
    """systemd's Restart= for a podman restart policy too, so that one role variable fits both modules."""
    value = u'%s' % (value or 'on-failure')
    if value == 'unless-stopped':
        return u'always'  # systemctl stop is not a failure, so Restart=always never fights an explicit stop
    if value.startswith('on-failure:'):
        return u'on-failure'
    return value


def _unit_list(option, value):
    units = _as_list(option, value)
    for unit in units:
        if not _UNIT_NAME_RE.match(unit.replace('@', '')):
            raise ConfigError('%s: %r is not a systemd unit name' % (option, unit), option=option)
    return units


def _systemd_environment(value):
    if not value:
        return []
    if not isinstance(value, dict):
        raise ConfigError('environment: expected a dictionary of variable names to values', option='environment')
    items = sorted((u'%s' % (k,), u'' if v is None else _scalar(v)) for k, v in value.items())
    for key, val in items:
        if not _SYSTEMD_ENV_NAME_RE.match(key):
            raise ConfigError('environment: %r is not a variable name systemd accepts ([A-Za-z_][A-Za-z0-9_]*)'
                              % (key,), option='environment')
        _check_line('environment', val)
    return items


def _check_auth_file(path, runtime_dir):
    if not path:
        return None
    if not posixpath.isabs(path):
        raise ConfigError('auth_file: %r must be an absolute path: the unit runs from /' % (path,), option='auth_file')
    volatile = ['/run']
    if runtime_dir:
        volatile.append(runtime_dir.rstrip('/'))
    for root in volatile:
        if path == root or path.startswith(root + '/'):
            raise ConfigError(
                'auth_file: %s is under %s, which is emptied at reboot, so a pull at boot would find no '
                'credentials; copy the auth file to a persistent path (e.g. /etc/containers/auth.json or '
                '~/.config/containers/auth.json) and pass that' % (path, root), option='auth_file')
    return path


def _version_tuple(version):
    match = re.match(r'^\s*v?(\d+)\.(\d+)', u'%s' % (version or ''))
    return (int(match.group(1)), int(match.group(2))) if match else None


def auto_format(podman_version, installed=None):
    """What format=auto means: the format of the file already installed for this container (``installed``; so an
    upgrade of podman never leaves a second service for the same container), else Quadlet from podman 4.4 on, where
    its generator exists (and podman 5 deprecates `podman generate systemd`), else the rendered unit."""
    if installed:
        return installed
    have = _version_tuple(podman_version)
    if have is None:
        raise ConfigError('format=auto: cannot tell the podman version from %r; set format to unit or quadlet'
                          % (podman_version,), option='format')
    return 'quadlet' if have >= _version_tuple(QUADLET_MIN_VERSION) else 'unit'


# ---------------------------------------------------------------- names and directories

def unit_file_name(fmt, name, unit_name=None):
    """(service name, file name): `container-NAME.service` / `NAME.container` (service `NAME.service`)."""
    if fmt not in FORMATS:
        raise ConfigError('format: %r is not one of %s' % (fmt, ', '.join(FORMATS)), option='format')
    stem = unit_name
    if stem:
        for suffix in ('.service', '.container'):
            if stem.endswith(suffix):
                if fmt == 'unit' and suffix == '.container':
                    raise ConfigError('unit_name: %r names a Quadlet file; use format=quadlet or a .service name'
                                      % (unit_name,), option='unit_name')
                stem = stem[:-len(suffix)]
        if not stem or not _UNIT_NAME_RE.match(stem):
            raise ConfigError('unit_name: %r is not a plain systemd unit name (letters, digits, ":_.-\\"; '
                              'no "@" templates)' % (unit_name,), option='unit_name')
    else:
        stem = ('container-%s' % name) if fmt == 'unit' else name
    if fmt == 'unit':
        return stem + '.service', stem + '.service'
    return stem + '.service', stem + '.container'


def default_directory(fmt, scope, environ=None, home=None):
    """Where systemd (unit) or the Quadlet generator (quadlet) looks for the file of this scope."""
    environ = os.environ if environ is None else environ
    if scope == 'system':
        return '/etc/systemd/system' if fmt == 'unit' else '/etc/containers/systemd'
    config = environ.get('XDG_CONFIG_HOME')
    if not config or not posixpath.isabs(config):
        home = home or environ.get('HOME') or os.path.expanduser('~')
        config = posixpath.join(home, '.config')
    return posixpath.join(config, 'systemd', 'user') if fmt == 'unit' else posixpath.join(config, 'containers', 'systemd')


# ---------------------------------------------------------------- rendering

_HEADER = u'# %s\n# Generated by podkit.containers.systemd_generate: edits here are overwritten.\n'


def _lines(key, values, quote=None):
    return [u'%s=%s' % (key, quote(v) if quote else v) for v in values]


def _continued(key, groups):
    """KEY=first \\ <tab>next ... -- the continuation layout of podman generate systemd."""
    return u'%s=%s' % (key, u' \\\n\t'.join(groups))


def _unit_section(opts, description):
    lines = [u'[Unit]', u'Description=%s' % description, u'Documentation=man:podman-generate-systemd(1)',
             u'Wants=network-online.target', u'After=network-online.target']
    lines += _lines('After', opts.after) + _lines('Wants', opts.wants) + _lines('Requires', opts.requires)
    lines.append(u'RequiresMountsFor=%t/containers')
    return lines


def _service_environment(opts):
    return [u'Environment=%s' % quote_word(u'%s=%s' % (k, v), option='environment', dollar=False)
            for k, v in opts.environment]


def _install_section(opts):
    return [u'[Install]', u'WantedBy=%s' % ('default.target' if opts.scope == 'user' else 'multi-user.target')]


def render_unit(spec, opts, raw_args=None):
    """The text of `container-NAME.service` for a ContainerSpec; ``raw_args`` (from_container) replaces it."""
    service_name, _file_name = unit_file_name('unit', opts.name, opts.unit_name)
    cid = u'--cidfile=%t/%n.ctr-id'
    podman = quote_word(opts.podman_path, option='executable')
    head = [cid, u'--cgroups=no-conmon', u'--rm', u'--sdnotify=conmon', u'-d', u'--replace',
            u'--name %s' % quote_word(opts.name, option='name')]
    if opts.auth_file:
        head.append(u'--authfile %s' % quote_word(opts.auth_file, option='auth_file'))
    if raw_args is not None:
        body = [quote_command(raw_args, option='from_container')] if raw_args else []
    else:
        body = []
        tail = [quote_word(spec.image, option='image')]
        for row, argv in _spec_argv(spec):
            if row.trailing:
                tail.append(quote_command(argv, option=row.key))
            else:
                body += _pair_lines(argv, option=row.key)
        body.append(u' '.join(tail))
    timeout = opts.stop_timeout
    lines = [_HEADER % service_name]
    lines += _unit_section(opts, u'Podman %s' % service_name)
    lines += [u'', u'[Service]', u'Environment=PODMAN_SYSTEMD_UNIT=%n']
    lines += _service_environment(opts)
    lines.append(u'Restart=%s' % opts.restart_policy)
    if opts.restart_sec is not None:
        lines.append(u'RestartSec=%s' % _scalar(opts.restart_sec))
    lines.append(u'TimeoutStopSec=%d' % (timeout + STOP_TIMEOUT_MARGIN))
    lines.append(_continued('ExecStartPre', [u'/bin/rm', u'-f %t/%n.ctr-id']))
    lines.append(_continued('ExecStart', [podman + u' run'] + head + body))
    lines.append(_continued('ExecStop', [podman + u' stop', u'--ignore -t %d' % timeout, cid]))
    lines.append(_continued('ExecStopPost', [podman + u' rm', u'-f', u'--ignore -t %d' % timeout, cid]))
    lines += [u'Type=notify', u'NotifyAccess=all', u'']
    lines += _install_section(opts)
    return u'\n'.join(lines) + u'\n'


def _pair_lines(args, option):
    """Group `--flag value` pairs on one continuation line each, as podman does."""
    groups = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith('-') and '=' not in arg and i + 1 < len(args) and not args[i + 1].startswith('--'):
            groups.append(u'%s %s' % (quote_word(arg, option=option), quote_word(args[i + 1], option=option)))
            i += 2
        else:
            groups.append(quote_word(arg, option=option))
            i += 1
    return groups


def _quadlet_raw(option, value):
    """A Quadlet key that takes its value verbatim (Image=, Volume=, ...): no quoting exists there."""
    value = u'%s' % (value,)
    _check_line(option, value)
    if not value or value != value.strip() or value.endswith('\\'):
        raise ConfigError('%s: %r cannot be written to a Quadlet file: the value would be trimmed or continued '
                          '(leading/trailing blanks, trailing backslash); use format=unit' % (option, value),
                          option=option)
    return _escape_specifiers(value)


def _argv_items(argv):
    """[(flag, value or None, the words)] of one option's argv: `--flag value`, `--flag=value` or a lone `--flag`."""
    items = []
    i = 0
    while i < len(argv):
        word = argv[i]
        flag, eq, value = word.partition('=')
        if eq:
            items.append((flag, value, [word]))
            i += 1
        elif i + 1 < len(argv) and not argv[i + 1].startswith('--'):
            items.append((word, argv[i + 1], argv[i:i + 2]))
            i += 2
        else:
            items.append((word, None, [word]))
            i += 1
    return items


def _version(text):
    return tuple(int(part) for part in text.split('.'))


def _quadlet_entry(row, flag, version):
    """The Quadlet key of this flag of ``row`` that a Quadlet of podman ``version`` knows, else None."""
    for entry in row.quadlet:
        if entry.flag in (None, flag) and _version(entry.since) <= _version(version):
            return entry
    return None


def render_quadlet(spec, opts, version=QUADLET_MIN_VERSION):
    """The text of `NAME.container` for the Quadlet generator of podman ``version`` (keys: QUADLET_KEYS)."""
    _service_name, file_name = unit_file_name('quadlet', opts.name, opts.unit_name)
    spec_argv = _spec_argv(spec)
    container = [u'[Container]', u'Image=%s' % _quadlet_raw('image', spec.image),
                 u'ContainerName=%s' % _quadlet_raw('name', opts.name)]
    podman_args = []
    trailing = []
    if opts.auth_file:
        podman_args += _pair_lines(['--authfile', opts.auth_file], option='auth_file')
    for row, argv in spec_argv:
        if row.trailing:
            # The command: one Exec= line, split like a command line.
            trailing.append(u'%s=%s' % (row.quadlet[0].key, quote_command(argv, option=row.key)))
            continue
        for flag, value, words in _argv_items(argv):
            entry = _quadlet_entry(row, flag, version)
            if entry is None:
                # No key in this Quadlet (HostName/WorkingDir need 4.6, StopSignal 5.2, ...): PodmanArgs= is split
                # like a command line, so quote_word applies.
                podman_args += _pair_lines(words, option=row.key)
                continue
            value = u'true' if value is None else value
            rendered = quote_word(value, option=row.key) if entry.words else _quadlet_raw(row.key, value)
            container.append(u'%s=%s' % (entry.key, rendered))
    for group in podman_args:
        container.append(u'PodmanArgs=%s' % group)
    container += trailing

    lines = [_HEADER % file_name]
    lines += [u'[Unit]', u'Description=Podman container %s (Quadlet)' % opts.name]
    lines += _lines('After', opts.after) + _lines('Wants', opts.wants) + _lines('Requires', opts.requires)
    lines += [u''] + container + [u'', u'[Service]']
    lines += _service_environment(opts)
    lines.append(u'Restart=%s' % opts.restart_policy)
    if opts.restart_sec is not None:
        lines.append(u'RestartSec=%s' % _scalar(opts.restart_sec))
    lines.append(u'TimeoutStopSec=%d' % (opts.stop_timeout + STOP_TIMEOUT_MARGIN))
    lines += [u''] + _install_section(opts)
    return u'\n'.join(lines) + u'\n'


def quadlet_keys(text):
    """{group: [keys]} of a rendered .container file, for checking it against QUADLET_KEYS."""
    groups = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(('#', ';')):
            continue
        if line.startswith('[') and line.endswith(']'):
            current = line[1:-1]
            groups.setdefault(current, [])
            continue
        groups.setdefault(current, []).append(line.split('=', 1)[0])
    return groups


def render(fmt, spec, opts, raw_args=None):
    """(service name, file name, text) of ``spec`` (a ContainerSpec, or None with ``raw_args``) in ``fmt``."""
    service_name, file_name = unit_file_name(fmt, opts.name, opts.unit_name)
    if fmt == 'unit':
        return service_name, file_name, render_unit(spec, opts, raw_args=raw_args)
    if raw_args is not None:
        raise ConfigError('from_container: a Quadlet file needs the container option by option, but podman '
                          'only records the create command line; use format=unit, or pass the spec options '
                          'instead of from_container', option='from_container')
    return service_name, file_name, render_quadlet(spec, opts)


# ---------------------------------------------------------------- from an existing container

# Flags podman generate systemd --new also drops from the create command: the unit sets its own.
_DROP_WITH_VALUE = ('--name', '--cidfile', '--sdnotify', '--cgroups', '--conmon-pidfile', '--pod-id-file')
_DROP_FLAGS = ('-d', '--detach', '--rm', '--replace', '-i', '--interactive', '-t', '--tty')


def _names_of(word):
    """The forms a user may have typed for an image podman records as ``registry/repo:tag``."""
    yield word
    if ':' not in word.rsplit('/', 1)[-1] and '@' not in word:
        yield word + ':latest'


def _is_image_word(word, image_name, image_id):
    if image_id and len(word) >= 12 and image_id.startswith(word):
        return True
    for form in _names_of(word):
        if image_name == form or image_name.endswith('/' + form):
            return True
    return False


def args_from_create_command(create_command, image_name, image_id=None):
    """Options, image and command of a recorded `podman create/run` line, minus what the unit sets itself.

    podman records the command line as typed (`busybox`) but the image resolved (`docker.io/library/busybox:latest`),
    so the image is the first word that names the same image; options are only dropped before it, so a
    `-d` in the container's own command stays.
    """
    argv = list(create_command or [])
    for i, word in enumerate(argv[:4]):
        if word in ('create', 'run'):
            argv = argv[i + 1:]
            break
    else:
        raise ConfigError('the container has no recorded `podman create` command line (was it created through '
                          'the API?); pass the spec options instead of from_container', option='from_container')
    position = None
    for i, word in enumerate(argv):
        if not word.startswith('-') and _is_image_word(word, image_name or '', image_id):
            position = i
            break
    if position is None:
        raise ConfigError('cannot find the image %s in the recorded command line %s; pass the spec options instead '
                          'of from_container' % (image_name, ' '.join(create_command)), option='from_container')
    out = []
    i = 0
    while i < position:
        word = argv[i]
        flag, eq, _value = word.partition('=')
        if flag in _DROP_WITH_VALUE:
            i += 1 if eq else 2
            continue
        if flag in _DROP_FLAGS and (not eq or _value in ('true', 'false')):
            i += 1
            continue
        out.append(word)
        i += 1
    return out + argv[position:]
