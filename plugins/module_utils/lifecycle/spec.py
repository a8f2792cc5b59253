# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container spec (internal; no stable API).

``ContainerSpec.from_params`` validates and normalises the desired options into one canonical form;
``create_args`` renders the ``podman create`` argv from it; ``compare`` holds it against the EFFECTIVE
configuration of an existing container (``podman container inspect``, plus ``podman image inspect`` of its
image for image defaults). An option the user did not set is never drift. CreateCommand is never looked at:
the same container can be written many ways on a command line.

Each option is one row of OPTIONS: how to normalise the user's value, how to render it for podman create,
how to read the effective value from inspect, and how to compare the two.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import posixpath
import re
import shlex

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError

# Linux signal numbers (x86/arm; what podman stores in Config.StopSignal).
SIGNALS = {
    'HUP': 1, 'INT': 2, 'QUIT': 3, 'ILL': 4, 'TRAP': 5, 'ABRT': 6, 'IOT': 6, 'BUS': 7, 'FPE': 8, 'KILL': 9,
    'USR1': 10, 'SEGV': 11, 'USR2': 12, 'PIPE': 13, 'ALRM': 14, 'TERM': 15, 'STKFLT': 16, 'CHLD': 17,
    'CONT': 18, 'STOP': 19, 'TSTP': 20, 'TTIN': 21, 'TTOU': 22, 'URG': 23, 'XCPU': 24, 'XFSZ': 25,
    'VTALRM': 26, 'PROF': 27, 'WINCH': 28, 'IO': 29, 'POLL': 29, 'PWR': 30, 'SYS': 31,
}
_SIGNAL_NAMES = dict((number, 'SIG' + name) for name, number in reversed(sorted(SIGNALS.items())))

_MEMORY_UNITS = {'': 1, 'b': 1, 'k': 1024, 'm': 1024 ** 2, 'g': 1024 ** 3, 't': 1024 ** 4}
_DURATION_UNITS = {'ns': 1, 'us': 10 ** 3, 'µs': 10 ** 3, 'ms': 10 ** 6, 's': 10 ** 9, 'm': 60 * 10 ** 9, 'h': 3600 * 10 ** 9}
_PORT_RE = re.compile(r'^(?:(?:\[(?P<ip6>[0-9a-fA-F:.]+)\]|(?P<ip>[0-9]+(?:\.[0-9]+){3})):)?(?:(?P<host>[0-9]*(?:-[0-9]+)?):)?'
                      r'(?P<container>[0-9]+(?:-[0-9]+)?)(?:/(?P<proto>tcp|udp|sctp))?$')
_VOLUME_NAME_RE = re.compile(r'^[a-zA-Z0-9][a-zA-Z0-9_.-]*$')
_VOLUME_OPTIONS = frozenset(['ro', 'rw', 'z', 'Z', 'O', 'U', 'copy', 'nocopy', 'suid', 'nosuid', 'dev', 'nodev',
                             'exec', 'noexec', 'shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate',
                             'bind', 'rbind', 'idmap'])
_RESTART_POLICIES = ('no', 'always', 'on-failure', 'unless-stopped')
# Network modes podman reports in HostConfig.NetworkMode; anything else is the name of a network.
_NETWORK_MODES = ('bridge', 'host', 'none', 'private', 'slirp4netns', 'pasta', 'container', 'ns')
_HEALTH_KEYS = ('test', 'interval', 'timeout', 'retries', 'start_period')


def _fail(option, value, why):
    raise ConfigError('invalid %s %r: %s' % (option, value, why), option=option)


# -- normalisers: user value -> canonical value (or ConfigError) ----------------------------------------

def _str_list(option, value):
    """A list of strings; a string is split like a shell would."""
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    try:
        return shlex.split(str(value))
    except ValueError as exc:
        _fail(option, value, str(exc))


def _str_dict(option, value):
    if not isinstance(value, dict):
        _fail(option, value, 'expected a dictionary of names to values')
    result = {}
    for key, item in value.items():
        if isinstance(item, bool):
            _fail(option, value, 'the value of %s is a boolean; quote it ("%s") so that it is passed as you mean it'
                  % (key, str(item).lower()))
        if item is None:
            item = ''
        if not key or '=' in str(key):
            _fail(option, value, 'names must be non-empty and must not contain "="')
        result[str(key)] = str(item)
    return result


def _port_number(option, spec, text, what):
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        _fail(option, spec, '%s %s is out of range 1-65535' % (what, text))
    return int(text)


def _port_range(option, spec, text, what):
    if '-' in text:
        low, high = text.split('-', 1)
        low, high = _port_number(option, spec, low, what), _port_number(option, spec, high, what)
        if high < low:
            _fail(option, spec, '%s range %s is reversed' % (what, text))
        return list(range(low, high + 1))
    return [_port_number(option, spec, text, what)]


def _ports(option, value):
    """Canonical: sorted list of (host_ip, host_port or None, container_port, protocol)."""
    specs = value if isinstance(value, (list, tuple)) else [value]
    result = set()
    for spec in specs:
        text = str(spec).strip()
        match = _PORT_RE.match(text)
        if not match:
            _fail(option, spec, 'expected [[ip:][host_port]:]container_port[/tcp|udp|sctp], e.g. "8080:80" or "127.0.0.1:53:53/udp"')
        ip = match.group('ip6') or match.group('ip') or ''
        container = _port_range(option, spec, match.group('container'), 'container port')
        host = [None] * len(container)
        if match.group('host'):
            host = _port_range(option, spec, match.group('host'), 'host port')
            if len(host) != len(container):
                _fail(option, spec, 'the host and container port ranges differ in length')
        proto = match.group('proto') or 'tcp'
        for host_port, container_port in zip(host, container):
            result.add((ip, host_port, container_port, proto))
    return sorted(result, key=lambda p: (p[2], p[3], p[0], p[1] or 0))


def _volumes(option, value):
    """Canonical: sorted list of (type, source, destination, read_only, extra options).

    type is 'bind' (absolute host path), 'volume' (a named volume) or 'anonymous' (source None).
    """
    specs = value if isinstance(value, (list, tuple)) else [value]
    result = []
    for spec in specs:
        text = str(spec).strip()
        parts = text.split(':')
        if len(parts) == 1:
            source, dest, opts = None, parts[0], []
        elif len(parts) in (2, 3):
            source, dest = parts[0], parts[1]
            opts = [o for o in parts[2].split(',') if o] if len(parts) == 3 else []
        else:
            _fail(option, spec, 'expected [source:]container_path[:options]')
        if not dest:
            _fail(option, spec, 'the container path is missing (expected source:/container/path)')
        if not dest.startswith('/'):
            _fail(option, spec, 'the container path %r must be absolute' % dest)
        for opt in opts:
            if opt not in _VOLUME_OPTIONS and not opt.startswith(('uid=', 'gid=')):
                _fail(option, spec, 'unknown volume option %r' % opt)
        read_only = 'ro' in opts
        extra = tuple(sorted(o for o in opts if o not in ('ro', 'rw')))
        dest = posixpath.normpath(dest)
        if source is None:
            result.append(('anonymous', None, dest, read_only, extra))
        elif source.startswith('/'):
            result.append(('bind', posixpath.normpath(source), dest, read_only, extra))
        elif source.startswith('.') or '/' in source or source.startswith('~'):
            _fail(option, spec, 'the host path %r is relative; use an absolute path (or a volume name)' % source)
        elif not _VOLUME_NAME_RE.match(source):
            _fail(option, spec, '%r is neither an absolute host path nor a valid volume name' % source)
        else:
            result.append(('volume', source, dest, read_only, extra))
    dests = [v[2] for v in result]
    if len(set(dests)) != len(dests):
        _fail(option, value, 'a container path is mounted more than once')
    return sorted(result, key=lambda v: v[2])


def _restart_policy(option, value):
    """Canonical: (name, maximum retry count)."""
    text = str(value).strip()
    name, _sep, count = text.partition(':')
    if name not in _RESTART_POLICIES:
        _fail(option, value, 'expected one of %s (on-failure may take :N)' % ', '.join(_RESTART_POLICIES))
    if count:
        if name != 'on-failure' or not count.isdigit():
            _fail(option, value, 'only on-failure takes a retry count, as on-failure:N')
        return (name, int(count))
    return (name, 0)


def signal_number(option, value):
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = str(value).strip().upper()
        if text.isdigit():
            number = int(text)
        else:
            name = text[3:] if text.startswith('SIG') else text
            if name not in SIGNALS:
                _fail(option, value, 'unknown signal')
            number = SIGNALS[name]
    if not 1 <= number <= 64:
        _fail(option, value, 'signal numbers are 1-64')
    return number


def _stop_signal(option, value):
    return signal_number(option, value)


def _non_negative_int(option, value):
    try:
        number = int(value)
    except (TypeError, ValueError):
        _fail(option, value, 'expected a whole number')
    if number < 0 or isinstance(value, bool):
        _fail(option, value, 'expected a whole number >= 0')
    return number


def _memory(option, value):
    """Canonical: bytes (podman's units are binary: 1k = 1024)."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        match = re.match(r'^\s*([0-9]+(?:\.[0-9]+)?)\s*([bkmgt]?)b?\s*$', str(value).lower())
        if not match:
            _fail(option, value, 'expected bytes or a number with a unit b, k, m, g or t (e.g. 512m)')
        number = int(float(match.group(1)) * _MEMORY_UNITS[match.group(2)])
    if number < 6 * 1024 * 1024 and number != 0:
        _fail(option, value, 'podman needs at least 6m')
    return number


def _cpus(option, value):
    """Canonical: NanoCpus (cpus * 1e9), as podman stores it."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        _fail(option, value, 'expected a number of CPUs such as 1.5')
    if number <= 0 or isinstance(value, bool):
        _fail(option, value, 'expected a number of CPUs > 0')
    return int(round(number * 1e9))


def duration_ns(option, value):
    """A Go duration ('1m30s', '500ms') or a number of seconds, in nanoseconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(round(value * 1e9))
    text = str(value).strip()
    if re.match(r'^[0-9]+(\.[0-9]+)?$', text):
        return int(round(float(text) * 1e9))
    parts = re.findall(r'([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)', text)
    if not parts or ''.join(n + u for n, u in parts) != text:
        _fail(option, value, 'expected a duration such as 30s, 1m30s or 500ms')
    return int(round(sum(float(n) * _DURATION_UNITS[u] for n, u in parts)))


def _healthcheck_test(option, value):
    if isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
        if not items:
            _fail(option, value, 'the test command is empty')
        if items[0] == 'NONE':
            return ['NONE']
        if items[0] == 'CMD-SHELL':
            return ['CMD-SHELL', ' '.join(items[1:])]
        if items[0] == 'CMD':
            items = items[1:]
        # podman 4.3 stores a one-element exec form as CMD-SHELL.
        if len(items) == 1:
            return ['CMD-SHELL', items[0]]
        return ['CMD'] + items
    text = str(value).strip()
    if not text:
        _fail(option, value, 'the test command is empty')
    if text.upper() == 'NONE':
        return ['NONE']
    return ['CMD-SHELL', text]


def _healthcheck(option, value):
    """Canonical: dict with the keys the user set: test (Test list), interval/timeout/start_period (ns), retries."""
    if isinstance(value, (str, list, tuple)):
        value = {'test': value}
    if not isinstance(value, dict):
        _fail(option, value, 'expected a dictionary with test, interval, timeout, retries, start_period')
    unknown = sorted(set(value) - set(_HEALTH_KEYS))
    if unknown:
        _fail(option, value, 'unknown keys %s (expected %s)' % (', '.join(unknown), ', '.join(_HEALTH_KEYS)))
    result = {}
    for key in _HEALTH_KEYS:
        item = value.get(key)
        if item is None:
            continue
        if key == 'test':
            result[key] = _healthcheck_test('healthcheck.test', item)
        elif key == 'retries':
            result[key] = _non_negative_int('healthcheck.retries', item)
        else:
            result[key] = duration_ns('healthcheck.' + key, item)
    if 'test' not in result:
        _fail(option, value, 'test is required')
    return result


def _network(option, value):
    """Canonical: sorted list of network names, or [mode] for a network mode."""
    items = value if isinstance(value, (list, tuple)) else str(value).split(',')
    items = sorted(set(str(i).strip() for i in items if str(i).strip()))
    if not items:
        _fail(option, value, 'empty')
    modes = [i for i in items if i.split(':', 1)[0] in _NETWORK_MODES and i != 'bridge']
    if modes and len(items) > 1:
        _fail(option, value, 'a network mode (%s) cannot be combined with other networks' % modes[0])
    return items


def _text(option, value):
    return str(value)


# -- argv renderers ----------------------------------------------------------------------------------

def _argv_env(env):
    return sum((['--env', '%s=%s' % (k, env[k])] for k in sorted(env)), [])


def _argv_labels(labels):
    return sum((['--label', '%s=%s' % (k, labels[k])] for k in sorted(labels)), [])


def _argv_ports(ports):
    argv = []
    for ip, host, container, proto in ports:
        host_part = '' if host is None else str(host)
        if ip:
            text = '%s:%s:%s' % ('[%s]' % ip if ':' in ip else ip, host_part, container)
        elif host is not None:
            text = '%s:%s' % (host, container)
        else:
            text = str(container)
        argv += ['--publish', '%s/%s' % (text, proto)]
    return argv


def _argv_volumes(volumes):
    argv = []
    for kind, source, dest, read_only, extra in volumes:
        opts = (['ro'] if read_only else []) + list(extra)
        text = dest if kind == 'anonymous' else '%s:%s' % (source, dest)
        if opts:
            text += ':' + ','.join(opts)
        argv += ['--volume', text]
    return argv


def _argv_restart(policy):
    name, count = policy
    return ['--restart', '%s:%d' % (name, count) if count else name]


def _argv_healthcheck(health):
    test = health['test']
    if test == ['NONE']:
        return ['--no-healthcheck']
    argv = ['--health-cmd', test[1] if test[0] == 'CMD-SHELL' else json.dumps(test[1:])]
    for key, flag in (('interval', '--health-interval'), ('timeout', '--health-timeout'),
                      ('start_period', '--health-start-period')):
        if key in health:
            argv += [flag, '%dms' % (health[key] // 10 ** 6) if health[key] % 10 ** 9 else '%ds' % (health[key] // 10 ** 9)]
    if 'retries' in health:
        argv += ['--health-retries', str(health['retries'])]
    return argv


def _argv_cpus(nano):
    text = ('%.9f' % (nano / 1e9)).rstrip('0').rstrip('.')
    return ['--cpus', text]


# -- effective values from inspect ---------------------------------------------------------------------

def _config(container):
    return container.get('Config') or {}


def _host(container):
    return container.get('HostConfig') or {}


def _env_dict(pairs):
    result = {}
    for pair in pairs or []:
        key, _sep, value = pair.partition('=')
        result[key] = value
    return result


def _eff_entrypoint(container, image):
    value = _config(container).get('Entrypoint')
    if isinstance(value, list):
        return value
    # podman 4.3 reports Entrypoint as one space-joined string; podman 5 as a list.
    return value.split(' ') if value else []


def _eff_ports(container, image):
    result = set()
    for key, bindings in (_host(container).get('PortBindings') or {}).items():
        port, _sep, proto = key.partition('/')
        for binding in bindings or [{}]:
            host = (binding or {}).get('HostPort') or ''
            result.add(((binding or {}).get('HostIp') or '', int(host) if host.isdigit() else None, int(port), proto or 'tcp'))
    return sorted(result, key=lambda p: (p[2], p[3], p[0], p[1] or 0))


def _image_volumes(image):
    return set(posixpath.normpath(v) for v in ((image or {}).get('Config') or {}).get('Volumes') or {})


def _eff_volumes(container, image):
    image_volumes = _image_volumes(image)
    result = []
    for mount in container.get('Mounts') or []:
        dest = posixpath.normpath(mount.get('Destination') or '/')
        read_only = not mount.get('RW', True)
        if mount.get('Type') == 'volume':
            name = mount.get('Name') or ''
            # An anonymous volume is named by a 64-hex id.
            if re.match(r'^[0-9a-f]{64}$', name):
                if dest in image_volumes:
                    continue
                result.append(('anonymous', None, dest, read_only))
            else:
                result.append(('volume', name, dest, read_only))
        elif mount.get('Type') == 'bind':
            result.append(('bind', posixpath.normpath(mount.get('Source') or '/'), dest, read_only))
    return sorted(result, key=lambda v: v[2])


def _eff_network(container, image):
    mode = _host(container).get('NetworkMode') or ''
    networks = sorted(((container.get('NetworkSettings') or {}).get('Networks') or {}).keys())
    return {'mode': mode, 'networks': networks}


def _eff_restart(container, image):
    policy = _host(container).get('RestartPolicy') or {}
    return (policy.get('Name') or 'no', int(policy.get('MaximumRetryCount') or 0))


def _eff_stop_signal(container, image):
    value = _config(container).get('StopSignal')
    if value in (None, ''):
        return 15
    try:
        return signal_number('stop_signal', value)
    except ConfigError:
        return value


def _eff_cpus(container, image):
    host = _host(container)
    if host.get('NanoCpus'):
        return int(host['NanoCpus'])
    if host.get('CpuQuota') and host.get('CpuPeriod'):
        return int(round(float(host['CpuQuota']) / host['CpuPeriod'] * 1e9))
    return 0


def _eff_healthcheck(container, image):
    health = _config(container).get('Healthcheck') or {}
    result = {}
    if health.get('Test'):
        result['test'] = list(health['Test'])
    for key, field in (('interval', 'Interval'), ('timeout', 'Timeout'), ('start_period', 'StartPeriod'), ('retries', 'Retries')):
        if health.get(field) is not None:
            result[key] = int(health[field])
    return result


# -- comparisons: (desired, effective) -> equal? ---------------------------------------------------------

def _eq(desired, actual):
    return desired == actual


def _subset(desired, actual):
    """Only the keys the user set count; image defaults and podman's own keys are not drift."""
    return all(actual.get(k) == v for k, v in desired.items())


def _ports_equal(desired, actual):
    if len(desired) != len(actual):
        return False
    # A port published without a host port gets a random one: any host port matches it.
    remaining = list(actual)
    for ip, host, container, proto in desired:
        for cand in remaining:
            if cand[0] == ip and cand[2] == container and cand[3] == proto and (host is None or cand[1] == host):
                remaining.remove(cand)
                break
        else:
            return False
    return True


def _volumes_equal(desired, actual):
    # Propagation/SELinux options are not reported back reliably; type, source, destination and ro are.
    return [v[:4] for v in desired] == actual


def _network_equal(desired, actual):
    if len(desired) == 1 and desired[0].split(':', 1)[0] in _NETWORK_MODES:
        mode = desired[0].split(':', 1)[0]
        return actual['mode'].split(':', 1)[0] == mode
    return desired == actual['networks']


def _entrypoint_equal(desired, actual):
    return desired == actual or ' '.join(desired) == ' '.join(actual)


def _healthcheck_equal(desired, actual):
    return all(actual.get(k) == v for k, v in desired.items())


# -- display (diff) ------------------------------------------------------------------------------------

def _show_ports(ports):
    return [_argv_ports([p])[1] for p in ports]


def _show_volumes(volumes):
    shown = []
    for vol in volumes:
        kind, source, dest, read_only = vol[:4]
        text = dest if kind == 'anonymous' else '%s:%s' % (source, dest)
        shown.append(text + (':ro' if read_only else ''))
    return shown


def _show_restart(policy):
    return _argv_restart(policy)[1]


def _show_signal(number):
    return _SIGNAL_NAMES.get(number, number)


def _show_network(value):
    if isinstance(value, dict):
        return value['networks'] or [value['mode']]
    return value


def _show_subset(desired, actual):
    """Before: only the keys the user set (the rest is not the module's business)."""
    return dict((k, actual.get(k)) for k in desired)


class Quadlet(object):
    """A Quadlet ``[Container]`` key an option renders to, and the podman release whose Quadlet introduced it.

    ``flag`` ties the key to one flag of the option's argv (healthcheck has a key per flag); None takes every flag.
    ``words``: the value is a list of words quoted like a command line (Environment=, Label=) rather than verbatim.
    """

    __slots__ = ('key', 'since', 'flag', 'words')

    def __init__(self, key, since, flag=None, words=False):
        self.key = key
        self.since = since
        self.flag = flag
        self.words = words


class Option(object):
    """One row of the option table: everything the collection knows about one container option.

    ``type``/``elements``/``suboptions``/``choices`` make the Ansible argument spec (``argspec()``);
    ``normalize(key, value)`` validates the user's value into the canonical form (ConfigError otherwise);
    ``argv(canonical)`` renders ``podman create``/``run`` arguments (``trailing``: after the image, like the command);
    ``quadlet`` names the Quadlet keys those arguments become; ``effective(container, image)`` reads the value in
    force from podman inspect (image defaults included); ``equal(desired, effective)`` compares them;
    ``show``/``show_before`` render both sides for the diff. ``shared``: part of the spec that container_state and
    systemd_generate share (restart_policy is not: in a unit, systemd restarts the container).
    """

    __slots__ = ('key', 'type', 'elements', 'suboptions', 'choices', 'normalize', 'argv', 'effective', 'equal',
                 'show', 'show_before', 'quadlet', 'shared', 'trailing')

    def __init__(self, key, normalize, argv, effective, type='str', elements=None, suboptions=None, choices=None,
                 equal=_eq, show=None, show_before=None, quadlet=(), shared=True, trailing=False):
        self.key = key
        self.type = type
        self.elements = elements
        self.suboptions = suboptions
        self.choices = choices
        self.normalize = normalize
        self.argv = argv
        self.effective = effective
        self.equal = equal
        self.show = show or _same
        self.show_before = show_before
        self.quadlet = quadlet
        self.shared = shared
        self.trailing = trailing

    def argspec(self):
        """The Ansible argument spec entry of this option."""
        entry = {'type': self.type}
        if self.elements:
            entry['elements'] = self.elements
        if self.choices:
            entry['choices'] = list(self.choices)
        if self.suboptions:
            entry['options'] = dict((k, dict(v)) for k, v in self.suboptions.items())
        return entry


def _same(value):
    return value


def _flag(flag):
    return lambda value: [flag, str(value)]


def _cfg(field, default=None):
    return lambda container, image: _config(container).get(field, default)


def _hostcfg(field, default=None):
    return lambda container, image: _host(container).get(field, default)


_HEALTHCHECK_SUBOPTIONS = dict(
    test=dict(type='raw', required=True),
    interval=dict(type='str'),
    timeout=dict(type='str'),
    retries=dict(type='int'),
    start_period=dict(type='str'),
)

OPTIONS = (
    Option('entrypoint', _str_list, lambda v: ['--entrypoint', json.dumps(v)], _eff_entrypoint, type='raw',
           equal=_entrypoint_equal, quadlet=(Quadlet('Entrypoint', '5.0'),)),
    Option('command', _str_list, list, lambda c, i: _config(c).get('Cmd') or [], type='raw',
           trailing=True, quadlet=(Quadlet('Exec', '4.4', words=True),)),
    Option('env', _str_dict, _argv_env, lambda c, i: _env_dict(_config(c).get('Env')), type='dict', equal=_subset,
           show_before=_show_subset, quadlet=(Quadlet('Environment', '4.4', words=True),)),
    Option('labels', _str_dict, _argv_labels, lambda c, i: dict(_config(c).get('Labels') or {}), type='dict',
           equal=_subset, show_before=_show_subset, quadlet=(Quadlet('Label', '4.4', words=True),)),
    Option('ports', _ports, _argv_ports, _eff_ports, type='list', elements='str', equal=_ports_equal, show=_show_ports,
           quadlet=(Quadlet('PublishPort', '4.4'),)),
    Option('volumes', _volumes, _argv_volumes, _eff_volumes, type='list', elements='str', equal=_volumes_equal,
           show=_show_volumes, quadlet=(Quadlet('Volume', '4.4'),)),
    Option('user', _text, _flag('--user'), _cfg('User', ''), quadlet=(Quadlet('User', '4.4'),)),
    Option('workdir', _text, _flag('--workdir'), _cfg('WorkingDir', ''), quadlet=(Quadlet('WorkingDir', '4.6'),)),
    Option('network', _network, lambda v: ['--network', ','.join(v)], _eff_network, type='list', elements='str',
           equal=_network_equal, show=_show_network, quadlet=(Quadlet('Network', '4.4'),)),
    Option('hostname', _text, _flag('--hostname'), _cfg('Hostname', ''), quadlet=(Quadlet('HostName', '4.6'),)),
    Option('restart_policy', _restart_policy, _argv_restart, _eff_restart, show=_show_restart, shared=False),
    Option('stop_signal', _stop_signal, lambda v: ['--stop-signal', str(v)], _eff_stop_signal, show=_show_signal,
           quadlet=(Quadlet('StopSignal', '5.2'),)),
    Option('stop_timeout', _non_negative_int, _flag('--stop-timeout'), _cfg('StopTimeout'), type='int',
           quadlet=(Quadlet('StopTimeout', '5.0'),)),
    Option('memory', _memory, _flag('--memory'), lambda c, i: int(_host(c).get('Memory') or 0)),
    Option('cpus', _cpus, _argv_cpus, _eff_cpus, type='float', show=lambda nano: nano / 1e9),
    Option('healthcheck', _healthcheck, _argv_healthcheck, _eff_healthcheck, type='dict',
           suboptions=_HEALTHCHECK_SUBOPTIONS, equal=_healthcheck_equal, show_before=_show_subset,
           quadlet=(Quadlet('HealthCmd', '4.5', flag='--health-cmd'), Quadlet('HealthInterval', '4.5', flag='--health-interval'),
                    Quadlet('HealthTimeout', '4.5', flag='--health-timeout'),
                    Quadlet('HealthStartPeriod', '4.5', flag='--health-start-period'),
                    Quadlet('HealthRetries', '4.5', flag='--health-retries'))),
)
OPTION_KEYS = tuple(o.key for o in OPTIONS)
# The options of the shared spec, in table order: what systemd_generate renders into a unit.
SHARED_KEYS = tuple(o.key for o in OPTIONS if o.shared)
_BY_KEY = dict((o.key, o) for o in OPTIONS)


def row(key):
    """The table row of option ``key``."""
    return _BY_KEY[key]


def _shared_argspec():
    return dict((o.key, o.argspec()) for o in OPTIONS if o.shared)


def argument_spec():
    """The argument spec of the shared container spec, plus ``spec``: the same options as one dictionary.

    container_state and systemd_generate take it as is, so a role can hand one dictionary to both. ``spec`` has
    no sub-options here (its documentation would have to repeat every option); fold_spec validates it with the
    same argument spec instead.
    """
    result = _shared_argspec()
    result['spec'] = dict(type='dict')
    return result


def fold_spec(params):
    """``params`` with the keys of its ``spec`` dictionary moved to the top level (a new dict).

    The dictionary is validated and converted as the options are (unknown keys, types). A key set in both places
    is refused rather than silently preferring one: the two would mean different containers.
    """
    nested = params.get('spec')
    if not nested:
        return params
    if not isinstance(nested, dict):
        raise ConfigError('spec: expected a dictionary of container options', option='spec')
    unknown = sorted(set(nested) - set(SHARED_KEYS))
    if unknown:
        raise ConfigError('spec: unknown option%s %s; spec takes %s'
                          % ('s' if len(unknown) > 1 else '', ', '.join(unknown), ', '.join(sorted(SHARED_KEYS))),
                          option='spec')
    checked = ArgumentSpecValidator(_shared_argspec()).validate(nested)
    if checked.error_messages:
        raise ConfigError('spec: %s' % '; '.join(checked.error_messages), option='spec')
    merged = dict(params)
    merged['spec'] = None
    for key, value in checked.validated_parameters.items():
        if value is None:
            continue
        if params.get(key) is not None:
            raise ConfigError('%s is set both as an option and in spec; set it in one place' % key, option=key)
        merged[key] = value
    return merged


class ContainerSpec(object):
    """The desired container: name, image and the canonical value of every option the user set."""

    def __init__(self, name, image, options):
        self.name = name
        self.image = image
        self.options = options

    @classmethod
    def from_params(cls, params, keys=OPTION_KEYS):
        """Validate and normalise module params (``keys`` of the table, ``spec`` folded in; None means not set)."""
        params = fold_spec(params)
        name = params.get('name')
        if not name or not re.match(r'^[a-zA-Z0-9][a-zA-Z0-9_.-]*$', name):
            raise ConfigError('invalid container name %r: use letters, digits, "_", "." and "-", starting with a letter or digit'
                              % name, option='name')
        options = {}
        for key in keys:
            value = params.get(key)
            if value is not None:
                options[key] = _BY_KEY[key].normalize(key, value)
        return cls(name, params.get('image'), options)

    def argv_by_option(self):
        """[(row, argv)] of the set options in table order, the trailing ones (the command) last."""
        rows = [o for o in OPTIONS if o.key in self.options]
        return [(o, o.argv(self.options[o.key])) for o in rows if not o.trailing] + \
            [(o, o.argv(self.options[o.key])) for o in rows if o.trailing]

    def create_args(self):
        """The arguments of ``podman create`` (after the word create)."""
        argv = ['--name', self.name]
        for option, args in self.argv_by_option():
            if option.trailing:
                break
            argv += args
        argv.append(self.image)
        for option, args in self.argv_by_option():
            if option.trailing:
                argv += args
        return argv

    def compare(self, container, image=None):
        """Differences between this spec and the effective config of ``container`` (podman inspect).

        ``image`` is the inspect object of the container's image (image-declared volumes are not drift).
        Returns a list of {'key', 'before', 'after'} in option-table order; empty means no drift.
        """
        differences = []
        for option in OPTIONS:
            if option.key not in self.options:
                continue
            desired = self.options[option.key]
            actual = option.effective(container, image)
            if not option.equal(desired, actual):
                before = option.show_before(desired, actual) if option.show_before else option.show(actual)
                differences.append({'key': option.key, 'before': before, 'after': option.show(desired)})
        return differences

    def display(self):
        """The desired options as the diff shows them."""
        return dict((k, _BY_KEY[k].show(v)) for k, v in self.options.items())
