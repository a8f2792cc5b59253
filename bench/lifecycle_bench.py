#!/usr/bin/env python
"""Container lifecycle benchmark (issue 4): podkit.containers against containers.podman, with a stat floor.

Whole ``ansible-playbook`` processes, connection local, on this machine; medians of RUNS runs (default 7),
runs interleaved so drift hits every play alike, one unmeasured warm-up run of each play first.

  noop   10 running busybox containers (``--network none``, created up front): container_state state=started vs
         containers.podman.podman_container state=started with the same config, vs a loop of ansible.builtin.stat
         over the same 10 items. Every measured run must report changed=0.
  pull   image already up to date in local storage: image_pull (policy newer, asks a local docker-registry on
         127.0.0.1) vs containers.podman.podman_image (its defaults) vs a one-task stat play. Then the tag is moved
         in the registry and both run once more: which of them notices.
  calls  podman invocations per play (a logging ``podman`` shim first on PATH, separate unmeasured runs):
         count, subcommands and time spent in podman.

podkit and its stat floor run with the ansible-core of the test venv (scripts/bootstrap.sh); containers.podman
and a second stat floor with the ``ansible`` package (ANSIBLE_PACKAGE) in a separate venv created under
~/.cache/podkit/bench-venv-<hash> when missing. Each ratio divides by the floor of the same venv.

The numbers, every run's time included, are also saved as bench/results/lifecycle-<time>.json (bench_results.py;
bench/plot.py draws them).

Environment: PODKIT_BENCH_LIFECYCLE_RUNS (default 7), PODKIT_BENCH_NO_DOCS=1 to leave docs/performance.md alone,
PODKIT_BENCH_VENV to use another venv for containers.podman.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))

import bench_results  # noqa: E402  pylint: disable=wrong-import-position
import images  # noqa: E402  pylint: disable=wrong-import-position
import registry_server  # noqa: E402  pylint: disable=wrong-import-position

RUNS = int(os.environ.get('PODKIT_BENCH_LIFECYCLE_RUNS', '7'))
ANSIBLE_PACKAGE = 'ansible==12.3.0'
CONTAINERS = 10
PREFIX = 'podkit-bench-'
IMAGE = 'localhost/podkit-bench/busybox:1'
MOVED_IMAGE = 'localhost/podkit-bench/busybox:moved'
SLEEP = '1000000'
DOCS = os.path.join(ROOT, 'docs', 'performance.md')
START = '<!-- lifecycle-bench:start -->'
END = '<!-- lifecycle-bench:end -->'
GROUPS = ('image', 'container', 'generate', 'manifest', 'network', 'pod', 'volume')
# The figures (play / stat floor): targets for podkit, its measurement of containers.podman.
TARGETS = {'noop_podkit': 1.25, 'pull_podkit': 1.2, 'noop_upstream': 1.96, 'pull_upstream': 1.34}
RECAP_RE = re.compile(r'^localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', re.M)

CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=1024:4096", "nproc=1024:1024"]

[engine]
runtime = "runc"
"""

# Logs every podman call (start, duration in ns, argv) and runs the real one.
SHIM = """#!/bin/sh
start=$(date +%%s%%N)
%(real)s "$@"
rc=$?
end=$(date +%%s%%N)
printf '%%s %%s %%s\\n' "$start" "$((end - start))" "$*" >> %(log)s
exit $rc
"""


def log(msg):
    print('[lifecycle-bench] %s' % msg, flush=True)


def run(cmd, check=True, **kw):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False, **kw)
    if check and proc.returncode != 0:
        raise RuntimeError('%s failed (rc=%s)\nstdout:\n%s\nstderr:\n%s'
                           % (' '.join(cmd), proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    return proc


def podman(*args, **kw):
    return run(['podman'] + list(args), **kw)


# -- the containers.podman venv ------------------------------------------------------------------------

def bench_venv():
    """A venv with ANSIBLE_PACKAGE (ansible-core + containers.podman), made once per package pin and python."""
    key = hashlib.sha256(('%s\n%s' % (ANSIBLE_PACKAGE, sys.version)).encode()).hexdigest()[:12]
    default = os.path.join(os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'), 'podkit', 'bench-venv-' + key)
    venv = os.environ.get('PODKIT_BENCH_VENV') or default
    if not os.path.exists(os.path.join(venv, '.complete')):
        log('creating %s with %s' % (venv, ANSIBLE_PACKAGE))
        shutil.rmtree(venv, ignore_errors=True)
        run([sys.executable, '-m', 'venv', venv])
        run([os.path.join(venv, 'bin', 'pip'), 'install', '-q', '--disable-pip-version-check', ANSIBLE_PACKAGE])
        with open(os.path.join(venv, '.complete'), 'w'):
            pass
    return venv


class Side:
    """One ansible installation: its ansible-playbook and the python its modules run with."""

    def __init__(self, label, bindir, python=None):
        self.label = label
        self.python = python or os.path.join(bindir, 'python')
        self.playbook = os.path.join(bindir, 'ansible-playbook')
        self.core = None if python else run([self.python, '-c', 'import ansible.release; print(ansible.release.__version__)']).stdout.strip()


def collection_version(side, namespace, name):
    code = ('import json, os, ansible_collections.%s.%s as c; '
            'print(json.load(open(os.path.join(list(c.__path__)[0], "MANIFEST.json")))["collection_info"]["version"])'
            % (namespace, name))
    return run([side.python, '-c', code]).stdout.strip()


# -- plays ---------------------------------------------------------------------------------------------

def write_play(work, name, task, loop=None):
    body = dict(task)
    if loop is not None:
        body['loop'] = loop
    play = [{'name': name, 'hosts': 'localhost', 'gather_facts': False, 'tasks': [dict(name=name, **body)]}]
    path = os.path.join(work, name + '.yml')
    with open(path, 'w') as f:
        json.dump(play, f, indent=1)  # YAML reads JSON
    return path


def play_env(work, extra=None):
    env = dict(os.environ)
    env.update({
        'ANSIBLE_HOST_KEY_CHECKING': 'False', 'ANSIBLE_RETRY_FILES_ENABLED': 'False', 'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_DEPRECATION_WARNINGS': 'False', 'ANSIBLE_LOCALHOST_WARNING': 'False',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'False', 'ANSIBLE_LOCAL_TEMP': os.path.join(work, 'ansible-tmp'),
    })
    env.update(extra or {})
    return env


def play(side, path, work, env_extra=None):
    """(wall seconds, changed count, stdout) of one ansible-playbook run; fails on a failed task."""
    cmd = [side.playbook, '-i', 'localhost,', '-c', 'local', '-e', 'ansible_python_interpreter=%s' % side.python, path]
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False,
                          env=play_env(work, env_extra), cwd=work)
    wall = time.perf_counter() - start
    recap = RECAP_RE.search(proc.stdout)
    if proc.returncode != 0 or not recap or int(recap.group(4)):
        raise RuntimeError('%s failed (rc=%s)\n%s\n%s' % (path, proc.returncode, proc.stdout[-4000:], proc.stderr[-3000:]))
    return wall, int(recap.group(2)), proc.stdout


def measure(plays, work, runs, expect_unchanged=True):
    """{key: [wall seconds]} for plays {key: (side, path)}, one warm-up then ``runs`` interleaved rounds."""
    times = dict((key, []) for key in plays)
    for key, (side, path) in sorted(plays.items()):
        dummy, changed, dummy = play(side, path, work)
        if changed:
            log('warm-up of %s changed %d item(s)' % (key, changed))
    for i in range(runs):
        for key, (side, path) in sorted(plays.items()):
            wall, changed, out = play(side, path, work)
            if expect_unchanged and changed:
                raise RuntimeError('%s changed %d item(s) on a no-op run:\n%s' % (key, changed, out[-4000:]))
            times[key].append(wall)
        log('round %d: %s' % (i + 1, ', '.join('%s %.2fs' % (k, times[k][-1]) for k in sorted(times))))
    return times


def podman_calls(side, path, work, shim_dir, shim_log):
    """[(subcommand words, seconds)] of the podman calls one run of ``path`` makes."""
    if os.path.exists(shim_log):
        os.unlink(shim_log)
    play(side, path, work, {'PATH': shim_dir + os.pathsep + os.environ['PATH']})
    calls = []
    if os.path.exists(shim_log):
        with open(shim_log) as f:
            for line in f:
                dummy, duration, argv = line.rstrip('\n').split(' ', 2)
                calls.append((call_kind(argv.split()), int(duration) / 1e9))
    return calls


def call_kind(argv):
    """'container inspect', 'image exists', 'inspect', '--version': the subcommand, without options or names."""
    words = []
    for word in argv:
        if word.startswith('-') or '/' in word or ':' in word or word.startswith(PREFIX) or (words and words[-1] not in GROUPS):
            break
        words.append(word)
    return ' '.join(words) or argv[0]


def module_seconds(side, path, work, shim_dir):
    """(seconds in module processes, their count) of one run of ``path``: its interpreter behind a timing shim."""
    log_path = os.path.join(shim_dir, 'python.log')
    timed = _with_interpreter(side, os.path.join(shim_dir, 'python-' + side.label), SHIM % {'real': side.python, 'log': log_path})
    if os.path.exists(log_path):
        os.unlink(log_path)
    play(timed, path, work)
    with open(log_path) as f:
        durations = [int(line.split(' ', 2)[1]) / 1e9 for line in f]
    return sum(durations), len(durations)


def controller_seconds(side, path, work, shim_dir, runs=3):
    """Median wall seconds of ``path`` when no module runs: the interpreter is a stub that prints an unchanged result.

    What is left is ansible-playbook's own work for the play, including building the module's AnsiballZ payload
    (parsing every module_utils file the module could import) and handling its result.
    """
    stub = _with_interpreter(side, os.path.join(shim_dir, 'python-stub'), '#!/bin/sh\necho \'{"changed": false}\'\n')
    return statistics.median([play(stub, path, work)[0] for dummy in range(runs)])


def _with_interpreter(side, script, text):
    """``side`` with the executable ``script`` (written with ``text``) as its ansible_python_interpreter."""
    with open(script, 'w') as f:
        f.write(text)
    os.chmod(script, 0o755)
    return Side(side.label, os.path.dirname(side.python), python=script)


def summarize_calls(calls):
    kinds = {}
    for words, dummy in calls:
        kinds[words] = kinds.get(words, 0) + 1
    return {'count': len(calls), 'seconds': sum(s for dummy, s in calls), 'kinds': kinds}


# -- setup ---------------------------------------------------------------------------------------------

def make_shim(work):
    shim_dir = os.path.join(work, 'shim')
    os.mkdir(shim_dir)
    shim_log = os.path.join(work, 'podman-calls.log')
    path = os.path.join(shim_dir, 'podman')
    with open(path, 'w') as f:
        f.write(SHIM % {'real': shutil.which('podman'), 'log': shim_log})
    os.chmod(path, 0o755)
    return shim_dir, shim_log


def local_id(ref):
    proc = podman('image', 'inspect', '--format', '{{.Id}}', ref, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def main():
    work = tempfile.mkdtemp(prefix='podkit-lifecycle-bench-')
    conf = os.path.join(work, 'containers.conf')
    with open(conf, 'w') as f:
        f.write(CONTAINERS_CONF)
    os.environ['CONTAINERS_CONF'] = conf
    os.environ['REGISTRY_AUTH_FILE'] = registry_server.write_authfile(os.path.join(work, 'auth.json'), {})
    os.mkdir(os.path.join(work, 'ansible-tmp'))
    names = ['%s%d' % (PREFIX, i) for i in range(CONTAINERS)]
    reg = None
    pulled_refs = []
    try:
        podkit = Side('podkit', os.path.dirname(sys.executable))
        upstream = Side('containers.podman', os.path.join(bench_venv(), 'bin'))
        facts = {
            'date': time.strftime('%Y-%m-%d'), 'nproc': os.cpu_count(), 'runs': RUNS,
            'podman': podman('--version').stdout.strip(), 'python': sys.version.split()[0], 'loadavg_start': os.getloadavg()[0],
            'podkit_ansible_core': podkit.core, 'upstream_ansible_core': upstream.core, 'ansible_package': ANSIBLE_PACKAGE,
            'containers_podman': collection_version(upstream, 'containers', 'podman'),
        }
        log('facts: %s' % json.dumps(facts, sort_keys=True))

        for name in names:
            podman('rm', '--force', '--ignore', name)
        if local_id(IMAGE) is None:
            images.import_rootfs(IMAGE, work, marker='podkit-bench')
        if local_id(MOVED_IMAGE) is None:
            images.import_rootfs(MOVED_IMAGE, work, marker='podkit-bench-moved')
        for name in names:
            podman('run', '-d', '--name', name, '--network', 'none', IMAGE, 'sleep', SLEEP)
            with open(os.path.join(work, name), 'w'):
                pass
        loop = names
        command = ['sleep', SLEEP]
        plays = {
            'noop_podkit': (podkit, write_play(work, 'noop_podkit', {'podkit.containers.container_state': {
                'name': '{{ item }}', 'image': IMAGE, 'command': command, 'network': ['none'], 'state': 'started'}}, loop)),
            'noop_upstream': (upstream, write_play(work, 'noop_upstream', {'containers.podman.podman_container': {
                'name': '{{ item }}', 'image': IMAGE, 'command': command, 'network': ['none'], 'state': 'started'}}, loop)),
            'noop_floor_podkit': (podkit, write_play(work, 'noop_floor', {'ansible.builtin.stat': {
                'path': work + '/{{ item }}'}}, loop)),
        }
        plays['noop_floor_upstream'] = (upstream, plays['noop_floor_podkit'][1])

        reg = registry_server.start_registry(os.path.join(work, 'registry'))
        ref = '%s/bench/pull:1' % reg.host
        pulled_refs.append(ref)
        images.push(IMAGE, reg, 'bench/pull:1')
        podman('pull', '-q', '--tls-verify=false', ref)
        with open(os.path.join(work, 'pull-floor'), 'w'):
            pass
        plays.update({
            'pull_podkit': (podkit, write_play(work, 'pull_podkit', {'podkit.containers.image_pull': {
                'name': ref, 'policy': 'newer', 'insecure': True}})),
            'pull_upstream': (upstream, write_play(work, 'pull_upstream', {'containers.podman.podman_image': {
                'name': ref, 'validate_certs': False}})),
            'pull_floor_podkit': (podkit, write_play(work, 'pull_floor', {'ansible.builtin.stat': {'path': work + '/pull-floor'}})),
        })
        plays['pull_floor_upstream'] = (upstream, plays['pull_floor_podkit'][1])

        log('%d measured rounds of %d plays' % (RUNS, len(plays)))
        times = measure(plays, work, RUNS)

        shim_dir, shim_log = make_shim(work)
        calls = {}
        for key in ('noop_podkit', 'noop_upstream', 'noop_floor_podkit', 'pull_podkit', 'pull_upstream', 'pull_floor_podkit'):
            side, path = plays[key]
            calls[key] = summarize_calls(podman_calls(side, path, work, shim_dir, shim_log))
            wall, dummy, dummy = play(side, path, work)
            calls[key]['module_seconds'], calls[key]['module_processes'] = module_seconds(side, path, work, shim_dir)
            calls[key]['controller_seconds'] = controller_seconds(side, path, work, shim_dir)
            calls[key]['play_seconds'] = wall
            log('podman calls, %s: %s' % (key, json.dumps(calls[key], sort_keys=True)))

        # The tag moves: the registry now serves another image under the same name.
        images.push(MOVED_IMAGE, reg, 'bench/pull:1')
        before = local_id(ref)
        moved = {'local_id_before': before, 'registry_id': local_id(MOVED_IMAGE)}
        dummy, moved['upstream_changed'], dummy = play(upstream, plays['pull_upstream'][1], work)
        moved['local_id_after_upstream'] = local_id(ref)
        dummy, moved['podkit_changed'], dummy = play(podkit, plays['pull_podkit'][1], work)
        moved['local_id_after_podkit'] = local_id(ref)
        log('tag moved: %s' % json.dumps(moved, sort_keys=True))

        numbers = dict(facts)
        numbers['loadavg_end'] = os.getloadavg()[0]
        numbers.update(('%s_s' % key, statistics.median(values)) for key, values in times.items())
        numbers['all_runs_s'] = dict((key, [round(v, 3) for v in values]) for key, values in sorted(times.items()))
        numbers['podman_calls'] = calls
        numbers['moved'] = moved
        bench_results.save('lifecycle', numbers, targets=TARGETS)
        report(numbers)
    finally:
        for name in names:
            podman('rm', '--force', '--time', '0', '--ignore', name, check=False)
        if reg is not None:
            reg.stop()
        for image in pulled_refs + [IMAGE, MOVED_IMAGE]:
            podman('rmi', '--force', '--ignore', image, check=False)
        shutil.rmtree(work, ignore_errors=True)


def _ratio(a, b):
    return a / b if b else float('nan')


def _paired(n, key, floor):
    ratios = [_ratio(a, b) for a, b in zip(n['all_runs_s'][key], n['all_runs_s'][floor])]
    return '%.2f (%.2f-%.2f)' % (statistics.median(ratios), min(ratios), max(ratios))


def _kinds(summary):
    return ', '.join('%s %d' % (k, v) for k, v in sorted(summary['kinds'].items(), key=lambda kv: (-kv[1], kv[0])))


def report(n):
    calls, moved = n['podman_calls'], n['moved']
    rows = [
        ('no-op, %d running containers, state started' % CONTAINERS, 'container_state', 'noop_podkit', 'noop_floor_podkit',
         TARGETS['noop_podkit'], 'podman_container', 'noop_upstream', 'noop_floor_upstream', TARGETS['noop_upstream']),
        ('image up to date, one task', 'image_pull (policy newer)', 'pull_podkit', 'pull_floor_podkit', TARGETS['pull_podkit'],
         'podman_image (defaults)', 'pull_upstream', 'pull_floor_upstream', TARGETS['pull_upstream']),
    ]
    lines = [
        START,
        '### container_state / image_pull vs containers.podman (measured by `make bench`, %s)' % n['date'],
        '',
        'Whole `ansible-playbook` runs, `-c local`, inventory `localhost,`; medians of %d interleaved runs after one '
        'warm-up; %d cores (nproc), %s, python %s. podkit and its floor: ansible-core %s. containers.podman %s and its '
        'floor: ansible-core %s (`pip install %s`, separate venv). The floor is `ansible.builtin.stat` over the same items, '
        'under the same ansible-core; ratio = module play / floor play. Load average (1 min) at start/end: %.1f/%.1f.'
        % (n['runs'], n['nproc'], n['podman'], n['python'], n['podkit_ansible_core'], n['containers_podman'],
           n['upstream_ansible_core'], n['ansible_package'], n['loadavg_start'], n['loadavg_end']),
        '',
        'Ratio of medians, and the median (range) of the per-round ratios: each round runs the module play and its floor '
        'back to back, so the per-round ratio is the one that survives a machine whose load changes during the run.',
        '',
        '| play | module | time | stat floor | ratio of medians | per-round ratio, median (range) | issue target |',
        '|---|---|---|---|---|---|---|',
    ]
    for what, mine, key, floor, target, theirs, their_key, their_floor, their_target in rows:
        lines.append('| %s | podkit.containers.%s | %.2f s | %.2f s | %.2f | **%s** | <= %g |'
                     % (what, mine, n[key + '_s'], n[floor + '_s'], _ratio(n[key + '_s'], n[floor + '_s']),
                        _paired(n, key, floor), target))
        lines.append('| %s | containers.podman.%s | %.2f s | %.2f s | %.2f | %s | ~ %g |'
                     % (what, theirs, n[their_key + '_s'], n[their_floor + '_s'],
                        _ratio(n[their_key + '_s'], n[their_floor + '_s']), _paired(n, their_key, their_floor), their_target))
    lines += [
        '',
        'Where the time goes (separate, unmeasured runs of the podkit-venv plays and of containers.podman): podman calls '
        'through a logging `podman` shim first on PATH, module processes through a timing shim as '
        '`ansible_python_interpreter`; the rest of a play is ansible-playbook itself (startup, templating, forks). '
        '"Controller only": the same play with a stub as `ansible_python_interpreter` that runs no module and prints an '
        'unchanged result (median of 3), i.e. ansible-playbook with the building of the module\'s AnsiballZ payload.',
        '',
        '| play | module | play | controller only | in module processes | podman calls | in podman | calls by subcommand |',
        '|---|---|---|---|---|---|---|---|',
    ]
    for what, key, module in (('no-op, %d containers' % CONTAINERS, 'noop_podkit', 'container_state'),
                              ('no-op, %d containers' % CONTAINERS, 'noop_upstream', 'podman_container'),
                              ('no-op, %d containers' % CONTAINERS, 'noop_floor_podkit', 'stat (floor)'),
                              ('image up to date', 'pull_podkit', 'image_pull'),
                              ('image up to date', 'pull_upstream', 'podman_image'),
                              ('image up to date', 'pull_floor_podkit', 'stat (floor)')):
        c = calls[key]
        lines.append('| %s | %s | %.2f s | %.2f s | %.2f s (%d) | %d | %.2f s | %s |'
                     % (what, module, c['play_seconds'], c['controller_seconds'], c['module_seconds'], c['module_processes'],
                        c['count'], c['seconds'], _kinds(c) or '-'))
    lines += [
        '',
        'After the tag moved in the registry (another image pushed under the same name), one more run of each: '
        'podman_image reported changed=%d (local image %s), then image_pull reported changed=%d (local image %s).'
        % (moved['upstream_changed'], 'unchanged' if moved['local_id_after_upstream'] == moved['local_id_before'] else 'replaced',
           moved['podkit_changed'], 'now the moved tag\'s image' if moved['local_id_after_podkit'] == moved['registry_id']
           else 'NOT the moved tag\'s image'),
        '',
        'Raw: `%s`' % json.dumps(n, sort_keys=True),
        END,
    ]
    bench_results.publish_block('\n'.join(lines), START, END, 'Container lifecycle', DOCS)


if __name__ == '__main__':
    main()
