"""Run this collection's modules the way a user does: through `ansible` and `ansible-playbook`.

The staged collection is found through ANSIBLE_COLLECTIONS_PATH (scripts/bootstrap.sh sets it); the
target interpreter is the test venv's python, so requests/jsonschema are present unless a test says otherwise.

``run_module_inprocess`` calls a module's main() in this process instead (no ansible, no AnsiballZ: ~100x less
overhead), for loops of many runs; its result has ``exception``/``module_stderr`` with the traceback when main()
raised, as AnsiballZ would report it.
"""
import contextlib
import gc
import importlib
import io
import json
import os
import subprocess
import sys
import traceback

# The stage's collection root (.../ansible_collections/podkit/containers -> the directory above ansible_collections).
_COLLECTIONS_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', '..'))


class AnsibleRun(object):
    """One ansible invocation: ``result`` is the task result (dict); ``stdout``/``stderr`` the raw output."""

    def __init__(self, result, stdout, stderr, rc):
        self.result = result
        self.stdout = stdout
        self.stderr = stderr
        self.rc = rc

    def __getitem__(self, key):
        return self.result[key]

    def get(self, key, default=None):
        return self.result.get(key, default)

    def __repr__(self):
        return 'AnsibleRun(rc=%r, result=%r)' % (self.rc, self.result)


def _env(extra=None, json_output=True):
    env = dict(os.environ)
    env.update({
        'ANSIBLE_HOST_KEY_CHECKING': 'False',
        'ANSIBLE_RETRY_FILES_ENABLED': 'False',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_DEPRECATION_WARNINGS': 'False',
        'ANSIBLE_LOCALHOST_WARNING': 'False',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'False',
    })
    if json_output:
        env.update({'ANSIBLE_LOAD_CALLBACK_PLUGINS': '1', 'ANSIBLE_STDOUT_CALLBACK': 'json_results',
                    'ANSIBLE_CALLBACK_PLUGINS': os.path.join(os.path.dirname(os.path.abspath(__file__)), 'callback_plugins')})
    if extra:
        env.update(extra)
    return env


def _module_cmd(name, args, check=False, diff=False, verbosity=0, python=None):
    cmd = ['ansible', 'localhost', '-c', 'local', '-i', 'localhost,',
           '-e', 'ansible_python_interpreter=%s' % (python or sys.executable),
           '-m', name if '.' in name else 'podkit.containers.' + name]
    if args:
        cmd += ['-a', json.dumps(args)]
    if check:
        cmd.append('--check')
    if diff:
        cmd.append('--diff')
    if verbosity:
        cmd.append('-' + 'v' * verbosity)
    return cmd


def start_module(name, args, check=False, env=None):
    """Start podkit.containers.<name> like run_module, without waiting: the Popen (output to pipes).

    For tests that kill a module mid-task: the module's own process is a descendant (see process_tree).
    """
    return subprocess.Popen(_module_cmd(name, args, check=check), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, env=_env(env))


def process_tree(pid):
    """``pid`` and its descendants (from /proc), parents first."""
    children = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    tree = [pid]
    for parent in tree:
        tree.extend(children.get(parent, []))
    return tree


def run_module(name, args, check=False, diff=False, env=None, verbosity=0, python=None, timeout=600):
    """Run podkit.containers.<name> on localhost with ``args`` (a dict) and return an AnsibleRun.

    ``verbosity`` > 0 switches to the default callback so the raw -vvv text can be inspected (result is then {}).
    """
    cmd = _module_cmd(name, args, check=check, diff=diff, verbosity=verbosity, python=python)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False,
                          env=_env(env, json_output=not verbosity), timeout=timeout)
    result = {}
    if not verbosity:
        try:
            out = json.loads(proc.stdout)
            result = out['plays'][0]['tasks'][0]['hosts']['localhost']
        except (ValueError, KeyError, IndexError):
            raise AssertionError('ansible printed no JSON result (rc=%s)\nstdout:\n%s\nstderr:\n%s'
                                 % (proc.returncode, proc.stdout, proc.stderr))
    return AnsibleRun(result, proc.stdout, proc.stderr, proc.returncode)


def run_playbook(path, extra_vars=None, check=False, diff=False, env=None, inventory='localhost,', timeout=900, verbosity=0):
    """Run a playbook with the json callback; returns (parsed json, CompletedProcess).

    ``verbosity`` > 0 runs it with -v... and the default callback instead: parsed is then None.
    """
    cmd = ['ansible-playbook', '-i', inventory, '-c', 'local',
           '-e', 'ansible_python_interpreter=%s' % sys.executable, path]
    if extra_vars:
        cmd += ['-e', json.dumps(extra_vars)]
    if check:
        cmd.append('--check')
    if diff:
        cmd.append('--diff')
    if verbosity:
        cmd.append('-' + 'v' * verbosity)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False,
                          env=_env(env, json_output=not verbosity), timeout=timeout)
    if verbosity:
        return None, proc
    try:
        parsed = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError('ansible-playbook printed no JSON (rc=%s)\nstdout:\n%s\nstderr:\n%s'
                             % (proc.returncode, proc.stdout, proc.stderr))
    return parsed, proc


def task_results(parsed, host='localhost'):
    """{task name: result} of a json-callback playbook run (later tasks of the same name win)."""
    results = {}
    for play in parsed.get('plays', []):
        for task in play.get('tasks', []):
            if host in task.get('hosts', {}):
                results[task['task']['name']] = task['hosts'][host]
    return results


def import_collection(name):
    """Import ``ansible_collections.podkit.containers.<name>`` from the stage (e.g. 'plugins.module_utils.options')."""
    if os.path.isdir(os.path.join(_COLLECTIONS_ROOT, 'ansible_collections')) and _COLLECTIONS_ROOT not in sys.path:
        sys.path.insert(0, _COLLECTIONS_ROOT)
    return importlib.import_module('ansible_collections.podkit.containers.' + name)


def run_module_inprocess(name, args, check=False, diff=False):
    """Run podkit.containers.<name>'s main() here with ``args`` and return an AnsibleRun (rc 0 or 1, stdout the JSON).

    Not thread-safe (module arguments and stdout are process-wide): one run at a time.
    """
    from ansible.module_utils import basic  # pylint: disable=import-outside-toplevel
    module = import_collection('plugins.modules.' + name)
    gc.unfreeze()  # the module froze the test process's objects at import (meant for its own short process)
    params = dict(args, _ansible_check_mode=check, _ansible_diff=diff, _ansible_remote_tmp='/tmp',
                  _ansible_keep_remote_files=False)
    # pylint: disable=protected-access
    basic._ANSIBLE_ARGS = json.dumps({'ANSIBLE_MODULE_ARGS': params}).encode('utf-8')
    basic._ANSIBLE_PROFILE = 'legacy'  # what ansible-core's module debugging entry uses by default
    out = io.StringIO()
    result = None
    with contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
        except BaseException:  # pylint: disable=broad-except
            text = traceback.format_exc()
            result = {'failed': True, 'msg': 'MODULE FAILURE', 'exception': text, 'module_stderr': text}
    if result is None:
        try:
            result = json.loads(out.getvalue())
        except ValueError:
            raise AssertionError('module %s printed no JSON result:\n%s' % (name, out.getvalue()))
    return AnsibleRun(result, out.getvalue(), result.get('module_stderr', ''), 1 if result.get('failed') else 0)
