# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container spec (internal; no stable API).

``ContainerSpec.from_params`` validates and normalises the desired options into one canonical form;
``create_args`` renders the ``podman create`` argv from it; ``compare`` holds it against the EFFECTIVE
configuration of an existing container (``podman container inspect``, plus ``podman image inspect`` of its
image for image defaults). An option the user did not set is never drift. The recorded command line
(Config.CreateCommand) is read only for what podman 4.3 records nowhere else -- env secrets, the sysctls, addresses
and pod of a container that never ran, extra_args: the same container can be written many ways on a command line.

Each option is one row of OPTIONS (class Option): its argument spec, how to normalise the user's value, how to
render it for podman create and as Quadlet keys, how to read the effective value from inspect, how to compare the
two and how to show them. The modules' argument specs, the renderers and the drift check all walk the table.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import io
import json
import math
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
_HEALTH_KEYS = ('test', 'interval', 'timeout', 'retries', 'start_period', 'on_failure')
_HEALTH_ON_FAILURE = ('none', 'kill', 'restart', 'stop')


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


def _fail_entry(option, key, why):
    # Names only: the values of env (and labels) may hold passwords.
    raise ConfigError('invalid %s entry %r: %s' % (option, key, why), option=option)


def _str_dict(option, value):
    if not isinstance(value, dict):
        _fail_entry(option, type(value).__name__, 'expected a dictionary of names to values')
    result = {}
    for key, item in value.items():
        if isinstance(item, bool):
            _fail_entry(option, key, 'the value is a boolean; quote it ("%s") so that it is passed as you mean it'
                        % str(item).lower())
        if item is None:
            item = ''
        if not key or '=' in str(key):
            _fail_entry(option, key, 'names must be non-empty and must not contain "="')
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
    except (TypeError, ValueError, OverflowError):
        _fail(option, value, 'expected a number of CPUs such as 1.5')
    if math.isnan(number) or number > 1e6 or number <= 0 or isinstance(value, bool):
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
        elif key == 'on_failure':
            if item not in _HEALTH_ON_FAILURE:
                _fail('healthcheck.on_failure', item, 'expected one of %s' % ', '.join(_HEALTH_ON_FAILURE))
            result[key] = item
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
    if 'on_failure' in health:
        argv += ['--health-on-failure', health['on_failure']]
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
    result['on_failure'] = _config(container).get('HealthcheckOnFailureAction') or 'none'
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


# -- security: secrets, capabilities, devices, security options, privileged, read-only -------------------

_NAME_RE = re.compile(r'^[a-zA-Z0-9][a-zA-Z0-9_.-]*$')
_CAP_RE = re.compile(r'^CAP_[A-Z_]+$')
_SECRET_KEYS = ('type', 'target', 'uid', 'gid', 'mode')


def _recorded(container, flags):
    """The values podman's recorded command line gave ``flags``, for what inspect records nowhere else."""
    argv = _config(container).get('CreateCommand') or []
    values = []
    for i, word in enumerate(argv):
        flag, eq, value = word.partition('=')
        if flag in flags:
            if eq:
                values.append(value)
            elif i + 1 < len(argv):
                values.append(argv[i + 1])
    return values


def _secret(option, spec):
    """(name, type, target, uid, gid, mode) of one ``name[,type=mount|env][,target=T][,uid=N][,gid=N][,mode=0400]``."""
    text = str(spec).strip()
    parts = text.split(',')
    name = parts[0]
    if not _NAME_RE.match(name):
        _fail(option, spec, 'the secret name must come first, e.g. "db_password,type=env,target=DB_PASSWORD"')
    fields = {}
    for part in parts[1:]:
        key, eq, value = part.partition('=')
        if not eq or key not in _SECRET_KEYS or key in fields:
            _fail(option, spec, 'expected name followed by %s=value, each at most once' % '/'.join(_SECRET_KEYS))
        fields[key] = value
    kind = fields.get('type', 'mount')
    if kind not in ('mount', 'env'):
        _fail(option, spec, 'type is mount or env')
    if kind == 'env':
        if set(fields) - set(['type', 'target']):
            _fail(option, spec, 'uid, gid and mode apply to mounted secrets only')
        target = fields.get('target') or name
        if not re.match(r'^[A-Za-z_][A-Za-z0-9_]*$', target):
            _fail(option, spec, 'the target of an env secret is a variable name')
        return (name, 'env', target, None, None, None)
    numbers = []
    for key, default, base in (('uid', '0', 10), ('gid', '0', 10), ('mode', '0444', 8)):
        try:
            numbers.append(int(fields.get(key, default), base))
        except ValueError:
            _fail(option, spec, '%s must be a number%s' % (key, ' in octal (0400)' if key == 'mode' else ''))
    return (name, 'mount', fields.get('target') or None) + tuple(numbers)


def _secrets(option, value):
    """Canonical: sorted list of _secret tuples; a secret is used once."""
    result = [_secret(option, item) for item in (value if isinstance(value, (list, tuple)) else [value])]
    names = [s[0] for s in result]
    if len(set(names)) != len(names):
        _fail(option, value, 'a secret is listed more than once')
    # Names are unique now; the other fields may be None, which does not sort against strings.
    return sorted(result, key=lambda s: s[0])


def _secret_text(secret):
    name, kind, target, uid, gid, mode = secret
    if kind == 'env':
        return '%s,type=env,target=%s' % (name, target)
    text = name + (',target=%s' % target if target else '')
    if (uid, gid, mode) != (0, 0, 0o444):
        text += ',uid=%d,gid=%d,mode=0%o' % (uid, gid, mode)
    return text


def _argv_secrets(secrets):
    return sum((['--secret', _secret_text(s)] for s in secrets), [])


def _eff_secrets(container, image):
    """Mounted secrets as Config.Secrets has them (name, uid, gid, mode: podman 4.3 records no target), env
    secrets from the recorded command line (inspect has only their values, in Env, once started)."""
    result = [(item.get('Name'), 'mount', None, int(item.get('UID') or 0), int(item.get('GID') or 0),
               int(item.get('Mode') if item.get('Mode') is not None else 0o444))
              for item in _config(container).get('Secrets') or []]
    for text in _recorded(container, ('--secret',)):
        try:
            secret = _secret('secrets', text)
        except ConfigError:
            continue
        if secret[1] == 'env':
            result.append(secret)
    return sorted(result)


def _secrets_equal(desired, actual):
    # The target of a mounted secret is not recorded; everything else is.
    return [s[:2] + ((s[2],) if s[1] == 'env' else (None,)) + s[3:] for s in desired] == actual


def _show_secrets(secrets):
    return [_secret_text(s) for s in secrets]


def _capabilities(option, value):
    """Canonical: sorted CAP_* names (or ALL)."""
    result = set()
    for item in (value if isinstance(value, (list, tuple)) else [value]):
        name = str(item).strip().upper()
        if name != 'ALL' and not name.startswith('CAP_'):
            name = 'CAP_' + name
        if name != 'ALL' and not _CAP_RE.match(name):
            _fail(option, item, 'expected a capability name such as NET_ADMIN or CAP_NET_ADMIN')
        result.add(name)
    return sorted(result)


def _argv_repeat(flag):
    return lambda values: sum(([flag, str(v)] for v in values), [])


def _argv_repeat_dict(flag):
    return lambda values: sum(([flag, '%s=%s' % (k, values[k])] for k in sorted(values)), [])


def _sorted_hostcfg(field):
    return lambda container, image: sorted(_host(container).get(field) or [])


def _device(option, spec):
    parts = str(spec).strip().split(':')
    if len(parts) > 3 or not parts[0].startswith('/'):
        _fail(option, spec, 'expected /dev/host_path[:/container_path][:permissions]')
    host = parts[0]
    container = host
    perms = ''
    if len(parts) == 3:
        container, perms = parts[1], parts[2]
    elif len(parts) == 2:
        if parts[1].startswith('/'):
            container = parts[1]
        else:
            perms = parts[1]
    if not container.startswith('/'):
        _fail(option, spec, 'the container path must be absolute')
    if perms and (set(perms) - set('rwm') or len(set(perms)) != len(perms)):
        _fail(option, spec, 'permissions are a combination of r, w and m')
    return (host, container, ''.join(c for c in 'rwm' if c in perms))


def _devices(option, value):
    return sorted(set(_device(option, item) for item in (value if isinstance(value, (list, tuple)) else [value])))


def _argv_devices(devices):
    return sum((['--device', ':'.join([host, dest] + ([perms] if perms else []))] for host, dest, perms in devices), [])


def _eff_devices(container, image):
    # podman 4.3 records no permissions (CgroupPermissions is empty): host and container path are compared.
    return sorted((d.get('PathOnHost'), d.get('PathInContainer')) for d in _host(container).get('Devices') or [])


def _devices_equal(desired, actual):
    return [d[:2] for d in desired] == actual


def _show_devices(devices):
    return [':'.join(d[:2] + ((d[2],) if len(d) > 2 and d[2] else ())) for d in devices]


def _str_set(option, value):
    """Canonical: sorted, de-duplicated non-empty strings."""
    items = value if isinstance(value, (list, tuple)) else [value]
    result = sorted(set(str(i).strip() for i in items))
    if '' in result:
        _fail(option, value, 'an empty entry')
    return result


def _bool(option, value):
    if not isinstance(value, bool):
        _fail(option, value, 'expected true or false')
    return value


def _argv_bool(flag):
    return lambda value: ['%s=%s' % (flag, 'true' if value else 'false')]


def _eff_bool(getter):
    return lambda container, image: bool(getter(container))


# -- file systems and limits: tmpfs, mounts, ulimits, sysctls, memory and CPU --------------------------------

# Paths podman mounts a tmpfs on by itself when the root file system is read-only (--read-only-tmpfs).
_READ_ONLY_TMPFS = ('/run', '/tmp', '/var/tmp')
_ULIMITS = ('as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss',
            'rtprio', 'rttime', 'sigpending', 'stack')
_UNLIMITED = 2 ** 64 - 1
_MOUNT_TYPES = ('bind', 'volume', 'tmpfs')
_MOUNT_KEYS = {'src': 'source', 'source': 'source', 'dst': 'destination', 'destination': 'destination',
               'target': 'destination', 'type': 'type', 'ro': 'readonly', 'readonly': 'readonly'}


def _tmpfs(option, value):
    """Canonical: sorted list of (path, options)."""
    result = {}
    for item in (value if isinstance(value, (list, tuple)) else [value]):
        path, _sep, opts = str(item).strip().partition(':')
        if not path.startswith('/'):
            _fail(option, item, 'expected /container/path[:options], e.g. /run/app:rw,size=64m')
        path = posixpath.normpath(path)
        if path in result:
            _fail(option, value, '%s is listed more than once' % path)
        result[path] = tuple(o for o in opts.split(',') if o)
    return sorted(result.items())


def _argv_tmpfs(tmpfs):
    return sum((['--tmpfs', path + (':' + ','.join(opts) if opts else '')] for path, opts in tmpfs), [])


def _eff_tmpfs(container, image):
    """({path: [options]}, the paths podman added itself for a read-only root)."""
    mounts = dict((posixpath.normpath(k), (v or '').split(',')) for k, v in (_host(container).get('Tmpfs') or {}).items())
    added = set(_READ_ONLY_TMPFS) if _host(container).get('ReadonlyRootfs') else set()
    return mounts, added


def _tmpfs_equal(desired, actual):
    mounts, added = actual
    wanted = dict(desired)
    if set(mounts) - (added - set(wanted)) != set(wanted):
        return False
    # podman appends its own options (rprivate, nosuid, ...): the ones asked for must be there.
    return all(set(opts) <= set(mounts[path]) for path, opts in wanted.items())


def _show_tmpfs(value):
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], dict):
        mounts, added = value
        return sorted(path for path in mounts if path not in added)
    return [path + (':' + ','.join(opts) if opts else '') for path, opts in value]


def _mount(option, spec):
    """(type, source, destination, readonly, other options) of one --mount string."""
    fields = {}
    others = []
    for part in str(spec).strip().split(','):
        key, eq, val = part.partition('=')
        name = _MOUNT_KEYS.get(key)
        if name is None:
            if not part:
                continue
            others.append(part)
        elif name in fields:
            _fail(option, spec, '%s is given twice' % key)
        elif name == 'readonly':
            if val.lower() not in ('', 'true', 'false', '1', '0'):
                _fail(option, spec, 'ro/readonly is true or false')
            fields[name] = val.lower() in ('', 'true', '1')
        else:
            fields[name] = val
    kind = fields.get('type')
    if kind not in _MOUNT_TYPES:
        _fail(option, spec, 'expected type=bind|volume|tmpfs,destination=/path[,source=...][,ro=true]')
    dest = fields.get('destination') or ''
    if not dest.startswith('/'):
        _fail(option, spec, 'destination must be an absolute path in the container')
    source = fields.get('source')
    if kind == 'bind' and not (source or '').startswith('/'):
        _fail(option, spec, 'a bind mount needs an absolute source path on the host')
    if kind == 'volume' and source and not _VOLUME_NAME_RE.match(source):
        _fail(option, spec, '%r is not a volume name' % source)
    if kind == 'tmpfs' and source:
        _fail(option, spec, 'a tmpfs mount has no source')
    source = posixpath.normpath(source) if kind == 'bind' else source
    return (kind, source, posixpath.normpath(dest), bool(fields.get('readonly')), tuple(others))


def _mounts(option, value):
    result = [_mount(option, item) for item in (value if isinstance(value, (list, tuple)) else [value])]
    dests = [m[2] for m in result]
    if len(set(dests)) != len(dests):
        _fail(option, value, 'a destination is mounted more than once')
    return sorted(result, key=lambda m: m[2])


def _mount_text(mount):
    kind, source, dest, readonly, others = mount
    parts = ['type=%s' % kind] + (['source=%s' % source] if source else []) + ['destination=%s' % dest]
    return ','.join(parts + (['ro=true'] if readonly else []) + list(others))


def _argv_mounts(mounts):
    return sum((['--mount', _mount_text(m)] for m in mounts), [])


def _eff_mounts(container, image):
    """{destination: (type, source, read-only)} of every mount podman records (volumes and --mount alike)."""
    result = {}
    for mount in container.get('Mounts') or []:
        kind = mount.get('Type')
        source = mount.get('Name') if kind == 'volume' else posixpath.normpath(mount.get('Source') or '/')
        result[posixpath.normpath(mount.get('Destination') or '/')] = (kind, source, not mount.get('RW', True))
    for path, opts in (_host(container).get('Tmpfs') or {}).items():
        result.setdefault(posixpath.normpath(path), ('tmpfs', None, 'ro' in (opts or '').split(',')))
    return result


def _mounts_equal(desired, actual):
    # Only the destinations asked for: the rest belongs to volumes, tmpfs or the image.
    for kind, source, dest, readonly, _others in desired:
        found = actual.get(dest)
        if found is None or found[0] != kind or found[2] != readonly:
            return False
        if source and found[1] != source:
            return False
    return True


def _show_mounts(value):
    if isinstance(value, dict):
        return ['type=%s,%sdestination=%s%s' % (k, 'source=%s,' % s if s else '', d, ',ro=true' if r else '')
                for d, (k, s, r) in sorted(value.items())]
    return [_mount_text(m) for m in value]


def _ulimits(option, value):
    """Canonical: sorted list of (name, soft, hard); -1 is unlimited."""
    result = {}
    for item in (value if isinstance(value, (list, tuple)) else [value]):
        match = re.match(r'^([a-z]+)=(-?[0-9]+)(?::(-?[0-9]+))?$', str(item).strip())
        if not match or match.group(1) not in _ULIMITS:
            _fail(option, item, 'expected name=soft[:hard] with a name among %s, e.g. nofile=1024:2048' % ', '.join(_ULIMITS))
        name = match.group(1)
        soft = int(match.group(2))
        hard = int(match.group(3)) if match.group(3) is not None else soft
        if any(v < -1 for v in (soft, hard)) or (-1 not in (soft, hard) and soft > hard):
            _fail(option, item, 'the soft limit is above the hard limit, or a limit is below -1')
        if name in result:
            _fail(option, value, '%s is listed more than once' % name)
        result[name] = (soft, hard)
    return sorted((name, soft, hard) for name, (soft, hard) in result.items())


def _ulimit_text(limit):
    return '%s=%d:%d' % limit


def _argv_ulimits(limits):
    return sum((['--ulimit', _ulimit_text(limit)] for limit in limits), [])


def _eff_ulimits(container, image):
    result = {}
    for item in _host(container).get('Ulimits') or []:
        name = (item.get('Name') or '').lower()
        name = name[len('rlimit_'):] if name.startswith('rlimit_') else name
        result[name] = (int(item.get('Soft', 0)), int(item.get('Hard', 0)))
    return result


def _ulimits_equal(desired, actual):
    # Limits not asked for come from containers.conf (default_ulimits) and are not drift.
    def value(v):
        return _UNLIMITED if v == -1 else v
    return all(tuple(value(v) for v in actual.get(name, (None, None))) == (value(soft), value(hard))
               for name, soft, hard in desired)


def _show_ulimits(value):
    if isinstance(value, dict):
        return [_ulimit_text((name,) + limits) for name, limits in sorted(value.items())]
    return [_ulimit_text(limit) for limit in value]


def _eff_sysctls(container, image):
    """The sysctls of the OCI configuration podman wrote at the first start; before that, the recorded command."""
    path = container.get('OCIConfigPath')
    if path:
        try:
            with open(path) as handle:
                return dict(((json.load(handle).get('linux') or {}).get('sysctl') or {}))
        except (IOError, OSError, ValueError):
            pass
    return _env_dict(_recorded(container, ('--sysctl',)))


def _bytes(option, value):
    """A size in bytes (binary units, like podman), with no lower bound."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            _fail(option, value, 'expected a size >= 0')
        return value
    match = re.match(r'^\s*([0-9]+(?:\.[0-9]+)?)\s*([bkmgt]?)b?\s*$', str(value).lower())
    if not match:
        _fail(option, value, 'expected bytes or a number with a unit b, k, m, g or t (e.g. 64m)')
    return int(float(match.group(1)) * _MEMORY_UNITS[match.group(2)])


def _memory_swap(option, value):
    """Bytes, or -1 for unlimited swap."""
    if str(value).strip() == '-1':
        return -1
    return _memory(option, value)


def _int_at_least(low):
    def normalize(option, value):
        try:
            number = int(value)
        except (TypeError, ValueError):
            _fail(option, value, 'expected a whole number')
        if isinstance(value, bool) or number < low:
            _fail(option, value, 'expected a whole number >= %d' % low)
        return number
    return normalize


def _cpu_set(option, value):
    """Canonical: the CPU list as podman would write it, e.g. 0-2,4 (sorted, ranges merged)."""
    cpus = set()
    text = str(value).strip().replace(' ', '')
    for part in text.split(','):
        match = re.match(r'^([0-9]+)(?:-([0-9]+))?$', part)
        if not match or (match.group(2) and int(match.group(2)) < int(match.group(1))):
            _fail(option, value, 'expected CPU numbers and ranges, e.g. 0-2,4')
        cpus.update(range(int(match.group(1)), int(match.group(2) or match.group(1)) + 1))
    ordered = sorted(cpus)
    ranges = []
    for cpu in ordered:
        if ranges and ranges[-1][1] == cpu - 1:
            ranges[-1][1] = cpu
        else:
            ranges.append([cpu, cpu])
    return ','.join(str(a) if a == b else '%d-%d' % (a, b) for a, b in ranges)


def _eff_cpu_set(container, image):
    text = _host(container).get('CpusetCpus') or ''
    try:
        return _cpu_set('cpuset_cpus', text) if text else ''
    except ConfigError:
        return text


# -- network: DNS, hosts, aliases, publish all ------------------------------------------------------------

def _str_list_ordered(option, value):
    """Canonical: the strings in the order given (resolv.conf keeps the order)."""
    items = [str(i).strip() for i in (value if isinstance(value, (list, tuple)) else [value])]
    if '' in items:
        _fail(option, value, 'an empty entry')
    return items


def _add_hosts(option, value):
    result = set()
    for item in (value if isinstance(value, (list, tuple)) else [value]):
        host, sep, address = str(item).strip().partition(':')
        if not sep or not host or not address:
            _fail(option, item, 'expected host:ip, e.g. db.local:10.0.0.5')
        result.add('%s:%s' % (host, address))
    return sorted(result)


def _eff_network_aliases(container, image):
    short_id = (container.get('Id') or '')[:12]
    aliases = set()
    for network in ((container.get('NetworkSettings') or {}).get('Networks') or {}).values():
        aliases.update((network or {}).get('Aliases') or [])
    # podman adds the short container id as an alias on every network.
    aliases.discard(short_id)
    return sorted(aliases)


def _annotation(name):
    return lambda container: (_config(container).get('Annotations') or {}).get(name, '').upper() == 'TRUE'


_MAC_RE = re.compile(r'^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$')


def _ipv4(option, value):
    text = str(value).strip()
    parts = text.split('.')
    if len(parts) != 4 or not all(p.isdigit() and int(p) <= 255 for p in parts):
        _fail(option, value, 'expected an IPv4 address such as 10.89.0.10')
    return '.'.join(str(int(p)) for p in parts)


def _mac(option, value):
    text = str(value).strip().lower().replace('-', ':')
    if not _MAC_RE.match(text):
        _fail(option, value, 'expected a MAC address such as 92:d0:c6:0a:29:33')
    return text


def _network_field(field, flag):
    """The addresses of a running container's networks; before it runs (they are empty), the recorded command."""
    def effective(container, image):
        networks = ((container.get('NetworkSettings') or {}).get('Networks') or {}).values()
        found = sorted(set((n or {}).get(field) for n in networks) - set(['', None]))
        return found or sorted(v.lower() for v in _recorded(container, (flag,)))
    return effective


def _in_list(desired, actual):
    return desired in actual


def _eff_pod(container, image):
    """The pod's id (inspect) and the name the container was created with (the recorded command)."""
    return [container.get('Pod') or ''] + _recorded(container, ('--pod',))


def _pod_equal(desired, actual):
    pod_id, names = actual[0], actual[1:]
    return desired in names or (len(desired) >= 12 and pod_id.startswith(desired))


def _show_pod(value):
    if isinstance(value, list):
        return (value[1:] or value[:1])[0] or None
    return value


# -- the process: groups, init, tty, annotations, logging, time zone -------------------------------------------

# Annotations podman sets itself; never drift, and not the user's under comparisons: strict.
_PODMAN_ANNOTATIONS = ('io.container.manager', 'io.kubernetes.cri-o.', 'io.podman.annotations.',
                       'org.opencontainers.image.stopSignal')
_LOG_DRIVERS = ('k8s-file', 'journald', 'none', 'passthrough', 'json-file')
# Log options podman 4.3 records (LogConfig); others are passed on but cannot be compared.
_LOG_FIELDS = {'max-size': 'Size', 'tag': 'Tag', 'path': 'Path'}
_DECIMAL_UNITS = {'': 1, 'b': 1, 'k': 1000, 'kb': 1000, 'm': 1000 ** 2, 'mb': 1000 ** 2, 'g': 1000 ** 3, 'gb': 1000 ** 3}


def _log_driver(option, value):
    text = str(value).strip()
    if text not in _LOG_DRIVERS:
        _fail(option, value, 'expected one of %s' % ', '.join(_LOG_DRIVERS))
    # podman takes json-file as another name of k8s-file and records k8s-file.
    return 'k8s-file' if text == 'json-file' else text


def _log_size(text):
    match = re.match(r'^([0-9]+(?:\.[0-9]+)?)\s*([kmg]?b?)$', str(text).strip().lower())
    return int(float(match.group(1)) * _DECIMAL_UNITS[match.group(2)]) if match else None


def _log_opt(option, value):
    result = _str_dict(option, value)
    canonical = {}
    for key, item in result.items():
        key = key.replace('_', '-')
        if key == 'max-size' and _log_size(item) is None:
            _fail(option, value, 'max-size is a size such as 10mb')
        canonical[key] = item
    return canonical


def _argv_log_opt(opts):
    return sum((['--log-opt', '%s=%s' % (k, opts[k])] for k in sorted(opts)), [])


def _eff_log_opt(container, image):
    log = _host(container).get('LogConfig') or {}
    return dict((key, log.get(field) or '') for key, field in _LOG_FIELDS.items())


def _log_opt_equal(desired, actual):
    for key, value in desired.items():
        if key not in _LOG_FIELDS:
            continue
        if key == 'max-size':
            # podman records the size for humans ("10MB"); decimal units, like its parser.
            if _log_size(value) != _log_size(actual.get(key) or '0'):
                return False
        elif actual.get(key) != value:
            return False
    return True


# -- users, environment files, pass-through ------------------------------------------------------------------

_ID_MAP_RE = re.compile(r'^[0-9]+:[0-9]+:[0-9]+$')


def _env_files(option, value):
    """Canonical: the absolute paths in the order given (a later file wins, as in podman)."""
    paths = _str_list_ordered(option, value)
    for path in paths:
        if not path.startswith('/'):
            _fail(option, path, 'use an absolute path (the file is read on the target)')
    return paths


def _read_env_file(path):
    """{name: value} of an env file as podman reads it: NAME=VALUE lines, # comments; NAME alone (taken from the
    environment of podman) has no value to compare."""
    try:
        with io.open(path, encoding='utf-8') as handle:
            lines = handle.read().splitlines()
    except (IOError, OSError) as exc:
        raise ConfigError('env_files: cannot read %s: %s' % (path, exc.strerror or exc), option='env_files', path=path)
    except UnicodeDecodeError:
        raise ConfigError('env_files: %s is not UTF-8 text; write the file in UTF-8' % path, option='env_files', path=path)
    result = {}
    for line in lines:
        line = line.lstrip()
        if not line or line.startswith('#') or '=' not in line:
            continue
        key, _sep, item = line.partition('=')
        result[key] = item
    return result


def _env_files_differ(desired, actual):
    """Names whose value in the files is not the container's (values are never shown: they may be secret)."""
    wanted = {}
    for path in desired:
        wanted.update(_read_env_file(path))
    return sorted(k for k, v in wanted.items() if actual.get(k) != v)


def _userns_equal(desired, actual):
    mode = desired.split(':', 1)[0]
    found = (actual or '').split(':', 1)[0]
    if mode == 'host':
        return found in ('', 'host')
    return mode == found


def _id_maps(option, value):
    items = _str_list_ordered(option, value)
    for item in items:
        if not _ID_MAP_RE.match(item):
            _fail(option, item, 'expected container_id:host_id:amount, e.g. 0:100000:65536')
    return items


def _id_mappings(field):
    return lambda container, image: list((_host(container).get('IDMappings') or {}).get(field) or [])


def _extra_args(option, value):
    args = _str_list(option, value)
    if args and not args[0].startswith('-'):
        _fail(option, value, 'the first word must be an option (--...): the image and command have options of their own')
    for word in args:
        if word.split('=', 1)[0] in ('--name', '--rm', '--replace', '-d', '--detach'):
            _fail(option, value, '%s is set by the collection itself' % word)
    return args


def _eff_create_args(container, image):
    return list(_config(container).get('CreateCommand') or [])


def _extra_args_equal(desired, actual):
    """podman records nothing per extra option, but it keeps the command line: the words must be in it, in order."""
    size = len(desired)
    return any(actual[i:i + size] == desired for i in range(len(actual) - size + 1))


# -- comparisons: strict ----------------------------------------------------------------------------------

COMPARISONS = ('subset', 'strict')
# Variables podman sets in every container itself (TERM only when the image has none).
_PODMAN_ENV = ('container', 'HOSTNAME', 'HOME', 'TERM')


def _image_config(image):
    return (image or {}).get('Config') or {}


def _strict_env(desired, container, image):
    actual = _env_dict(_config(container).get('Env'))
    defaults = _env_dict(_image_config(image).get('Env'))
    extra = [k for k, v in actual.items() if k not in desired and defaults.get(k) != v and k not in _PODMAN_ENV
             and k != 'PATH']
    return _subset(desired, actual) and not extra


def _strict_labels(desired, container, image):
    actual = _config(container).get('Labels') or {}
    defaults = _image_config(image).get('Labels') or {}
    return _subset(desired, actual) and all(k in desired or defaults.get(k) == v for k, v in actual.items())


def _strict_annotations(desired, container, image):
    actual = _config(container).get('Annotations') or {}
    return _subset(desired, actual) and all(k in desired or k.startswith(_PODMAN_ANNOTATIONS) for k in actual)


def _claimed_paths(mounts):
    return set(m[2] for m in mounts)


def _volumes_unclaimed(volumes, paths):
    return [v for v in volumes if v[2] not in paths]


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
                 'show', 'show_before', 'quadlet', 'shared', 'trailing', 'strict', 'claims', 'unclaimed', 'no_log')

    def __init__(self, key, normalize, argv, effective, type='str', elements=None, suboptions=None, choices=None,
                 equal=_eq, show=None, show_before=None, quadlet=(), shared=True, trailing=False, strict=None,
                 claims=None, unclaimed=None, no_log=None):
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
        # comparisons: strict -- strict(desired, container, image): no key beyond the desired ones counts as equal
        self.strict = strict
        # claims(canonical): container paths this option mounts; unclaimed(effective, paths): the effective value
        # without mounts another option claims (volumes and mounts both read Mounts)
        self.claims = claims
        self.unclaimed = unclaimed
        # no_log=False: the name sounds secret but the value is not (secrets holds names of podman secrets)
        self.no_log = no_log

    def argspec(self):
        """The Ansible argument spec entry of this option."""
        entry = {'type': self.type}
        if self.elements:
            entry['elements'] = self.elements
        if self.choices:
            entry['choices'] = list(self.choices)
        if self.suboptions:
            entry['options'] = dict((k, dict(v)) for k, v in self.suboptions.items())
        if self.no_log is not None:
            entry['no_log'] = self.no_log
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
    on_failure=dict(type='str', choices=list(_HEALTH_ON_FAILURE)),
)

OPTIONS = (
    Option('entrypoint', _str_list, lambda v: ['--entrypoint', json.dumps(v)], _eff_entrypoint, type='raw',
           equal=_entrypoint_equal, quadlet=(Quadlet('Entrypoint', '5.0'),)),
    Option('command', _str_list, list, lambda c, i: _config(c).get('Cmd') or [], type='raw',
           trailing=True, quadlet=(Quadlet('Exec', '4.4', words=True),)),
    Option('env', _str_dict, _argv_env, lambda c, i: _env_dict(_config(c).get('Env')), type='dict', equal=_subset,
           show_before=_show_subset, strict=_strict_env, quadlet=(Quadlet('Environment', '4.4', words=True),)),
    Option('labels', _str_dict, _argv_labels, lambda c, i: dict(_config(c).get('Labels') or {}), type='dict',
           equal=_subset, show_before=_show_subset, strict=_strict_labels, quadlet=(Quadlet('Label', '4.4', words=True),)),
    Option('ports', _ports, _argv_ports, _eff_ports, type='list', elements='str', equal=_ports_equal, show=_show_ports,
           quadlet=(Quadlet('PublishPort', '4.4'),)),
    Option('volumes', _volumes, _argv_volumes, _eff_volumes, type='list', elements='str', equal=_volumes_equal,
           show=_show_volumes, unclaimed=_volumes_unclaimed, quadlet=(Quadlet('Volume', '4.4'),)),
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
                    Quadlet('HealthRetries', '4.5', flag='--health-retries'),
                    Quadlet('HealthOnFailure', '4.5', flag='--health-on-failure'))),
    # security
    Option('secrets', _secrets, _argv_secrets, _eff_secrets, type='list', elements='str', equal=_secrets_equal,
           show=_show_secrets, no_log=False, quadlet=(Quadlet('Secret', '4.5'),)),
    Option('cap_add', _capabilities, _argv_repeat('--cap-add'), _sorted_hostcfg('CapAdd'), type='list', elements='str',
           quadlet=(Quadlet('AddCapability', '4.4'),)),
    Option('cap_drop', _capabilities, _argv_repeat('--cap-drop'), _sorted_hostcfg('CapDrop'), type='list',
           elements='str', quadlet=(Quadlet('DropCapability', '4.4'),)),
    Option('devices', _devices, _argv_devices, _eff_devices, type='list', elements='str', equal=_devices_equal,
           show=_show_devices, quadlet=(Quadlet('AddDevice', '4.4'),)),
    Option('security_opt', _str_set, _argv_repeat('--security-opt'), _sorted_hostcfg('SecurityOpt'), type='list',
           elements='str'),
    Option('privileged', _bool, _argv_bool('--privileged'), _eff_bool(lambda c: _host(c).get('Privileged')), type='bool'),
    Option('read_only', _bool, _argv_bool('--read-only'), _eff_bool(lambda c: _host(c).get('ReadonlyRootfs')),
           type='bool', quadlet=(Quadlet('ReadOnly', '4.4'),)),
    # file systems and limits
    Option('tmpfs', _tmpfs, _argv_tmpfs, _eff_tmpfs, type='list', elements='str', equal=_tmpfs_equal, show=_show_tmpfs,
           quadlet=(Quadlet('Tmpfs', '4.5'),)),
    Option('mounts', _mounts, _argv_mounts, _eff_mounts, type='list', elements='str', equal=_mounts_equal,
           show=_show_mounts, claims=_claimed_paths, quadlet=(Quadlet('Mount', '4.5'),)),
    Option('ulimits', _ulimits, _argv_ulimits, _eff_ulimits, type='list', elements='str', equal=_ulimits_equal,
           show=_show_ulimits, quadlet=(Quadlet('Ulimit', '4.7'),)),
    Option('sysctls', _str_dict, _argv_repeat_dict('--sysctl'), _eff_sysctls, type='dict', equal=_subset,
           show_before=_show_subset, quadlet=(Quadlet('Sysctl', '4.6'),)),
    Option('shm_size', _bytes, _flag('--shm-size'), lambda c, i: int(_host(c).get('ShmSize') or 0),
           quadlet=(Quadlet('ShmSize', '4.7'),)),
    Option('pids_limit', _int_at_least(0), _flag('--pids-limit'), lambda c, i: int(_host(c).get('PidsLimit') or 0),
           type='int', quadlet=(Quadlet('PidsLimit', '4.7'),)),
    Option('memory_reservation', _memory, _flag('--memory-reservation'),
           lambda c, i: int(_host(c).get('MemoryReservation') or 0)),
    Option('memory_swap', _memory_swap, _flag('--memory-swap'), lambda c, i: int(_host(c).get('MemorySwap') or 0)),
    Option('cpu_shares', _int_at_least(2), _flag('--cpu-shares'), lambda c, i: int(_host(c).get('CpuShares') or 0),
           type='int'),
    Option('cpuset_cpus', _cpu_set, _flag('--cpuset-cpus'), _eff_cpu_set),
    # network
    Option('dns', _str_list_ordered, _argv_repeat('--dns'), lambda c, i: list(_host(c).get('Dns') or []), type='list',
           elements='str', quadlet=(Quadlet('DNS', '4.7'),)),
    Option('dns_search', _str_list_ordered, _argv_repeat('--dns-search'), lambda c, i: list(_host(c).get('DnsSearch') or []),
           type='list', elements='str', quadlet=(Quadlet('DNSSearch', '4.7'),)),
    Option('dns_option', _str_list_ordered, _argv_repeat('--dns-option'),
           lambda c, i: list(_host(c).get('DnsOptions') or []), type='list', elements='str',
           quadlet=(Quadlet('DNSOption', '4.7'),)),
    Option('add_hosts', _add_hosts, _argv_repeat('--add-host'), _sorted_hostcfg('ExtraHosts'), type='list',
           elements='str'),
    Option('network_aliases', _str_set, _argv_repeat('--network-alias'), _eff_network_aliases, type='list',
           elements='str', quadlet=(Quadlet('NetworkAlias', '5.2'),)),
    Option('ip', _ipv4, _flag('--ip'), _network_field('IPAddress', '--ip'), equal=_in_list,
           quadlet=(Quadlet('IP', '4.5'),)),
    Option('mac_address', _mac, _flag('--mac-address'), _network_field('MacAddress', '--mac-address'), equal=_in_list),
    Option('pod', _text, _flag('--pod'), _eff_pod, equal=_pod_equal, show=_show_pod, quadlet=(Quadlet('Pod', '5.0'),)),
    # podman 4.3 records publish-all in an annotation (HostConfig.PublishAllPorts stays false).
    Option('publish_all', _bool, _argv_bool('--publish-all'), _eff_bool(_annotation('io.podman.annotations.publish-all')),
           type='bool'),
    # the process
    Option('group_add', _str_set, _argv_repeat('--group-add'), _sorted_hostcfg('GroupAdd'), type='list', elements='str',
           quadlet=(Quadlet('GroupAdd', '5.1'),)),
    Option('init', _bool, _argv_bool('--init'), _eff_bool(lambda c: _host(c).get('Init')), type='bool',
           quadlet=(Quadlet('RunInit', '4.4'),)),
    Option('tty', _bool, _argv_bool('--tty'), _eff_bool(lambda c: _config(c).get('Tty')), type='bool'),
    Option('interactive', _bool, _argv_bool('--interactive'), _eff_bool(lambda c: _config(c).get('OpenStdin')),
           type='bool'),
    Option('annotations', _str_dict, _argv_repeat_dict('--annotation'),
           lambda c, i: dict(_config(c).get('Annotations') or {}), type='dict', equal=_subset, show_before=_show_subset,
           strict=_strict_annotations, quadlet=(Quadlet('Annotation', '4.4', words=True),)),
    Option('log_driver', _log_driver, _flag('--log-driver'),
           lambda c, i: (_host(c).get('LogConfig') or {}).get('Type') or '', choices=_LOG_DRIVERS,
           quadlet=(Quadlet('LogDriver', '4.5'),)),
    Option('log_opt', _log_opt, _argv_log_opt, _eff_log_opt, type='dict', equal=_log_opt_equal, show_before=_show_subset,
           quadlet=(Quadlet('LogOpt', '5.2'),)),
    Option('timezone', _text, _flag('--tz'), _cfg('Timezone', ''), quadlet=(Quadlet('Timezone', '4.4'),)),
    # users, environment files, pass-through
    Option('env_files', _env_files, _argv_repeat('--env-file'), lambda c, i: _env_dict(_config(c).get('Env')),
           type='list', elements='path', equal=lambda d, a: not _env_files_differ(d, a),
           show_before=_env_files_differ, quadlet=(Quadlet('EnvironmentFile', '4.4'),)),
    Option('userns', _text, _flag('--userns'), _hostcfg('UsernsMode', ''), equal=_userns_equal,
           quadlet=(Quadlet('UserNS', '4.5'),)),
    Option('uidmap', _id_maps, _argv_repeat('--uidmap'), _id_mappings('UidMap'), type='list', elements='str',
           quadlet=(Quadlet('UIDMap', '4.8'),)),
    Option('gidmap', _id_maps, _argv_repeat('--gidmap'), _id_mappings('GidMap'), type='list', elements='str',
           quadlet=(Quadlet('GIDMap', '4.8'),)),
    Option('extra_args', _extra_args, list, _eff_create_args, type='list', elements='str', equal=_extra_args_equal,
           show_before=lambda desired, actual: [w for w in desired if w in actual]),
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
        close = difflib.get_close_matches(unknown[0], SHARED_KEYS, 1)
        raise ConfigError('spec: unknown option%s %s (its keys are the container options of the module%s)'
                          % ('s' if len(unknown) > 1 else '', ', '.join(unknown),
                             '; did you mean %s?' % close[0] if close else ''), option='spec')
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


def comparisons_argspec():
    """container_state's ``comparisons``: one sub-option per option that can be compared strictly."""
    return dict(type='dict', options=dict((o.key, dict(type='str', choices=list(COMPARISONS))) for o in OPTIONS if o.strict))


def _comparisons(value, options):
    """{option: 'subset'|'strict'} of the options that are set; validated."""
    result = {}
    for key, mode in (value or {}).items():
        if mode is None:
            continue
        if key not in _BY_KEY or not _BY_KEY[key].strict:
            raise ConfigError('comparisons: %s cannot be compared strictly (only %s)'
                              % (key, ', '.join(o.key for o in OPTIONS if o.strict)), option='comparisons')
        if mode not in COMPARISONS:
            raise ConfigError('comparisons: %s is %r; expected one of %s' % (key, mode, ', '.join(COMPARISONS)),
                              option='comparisons')
        result[key] = mode
    if result.get('env') == 'strict' and (options.get('env_files') or any(s[1] == 'env' for s in options.get('secrets', []))):
        # Their variables are in the container's environment, so a strict env would recreate it on every run.
        raise ConfigError('comparisons: env cannot be strict together with env_files or secrets of type env',
                          option='comparisons')
    return result


class ContainerSpec(object):
    """The desired container: name, image and the canonical value of every option the user set."""

    def __init__(self, name, image, options, comparisons=None):
        self.name = name
        self.image = image
        self.options = options
        self.comparisons = comparisons or {}

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
        return cls(name, params.get('image'), options, _comparisons(params.get('comparisons'), options))

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
        claimed = set()
        for option in OPTIONS:
            if option.claims and option.key in self.options:
                claimed |= option.claims(self.options[option.key])
        for option in OPTIONS:
            if option.key not in self.options:
                continue
            desired = self.options[option.key]
            actual = option.effective(container, image)
            if option.unclaimed and claimed:
                actual = option.unclaimed(actual, claimed)
            if self.comparisons.get(option.key) == 'strict':
                equal = option.strict(desired, container, image)
            else:
                equal = option.equal(desired, actual)
            if not equal:
                before = option.show_before(desired, actual) if option.show_before else option.show(actual)
                differences.append({'key': option.key, 'before': before, 'after': option.show(desired)})
        return differences

    def display(self):
        """The desired options as the diff shows them."""
        return dict((k, _BY_KEY[k].show(v)) for k, v in self.options.items())
