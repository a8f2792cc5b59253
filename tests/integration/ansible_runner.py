"""Run this collection's modules the way a user does: through `ansible` and `ansible-playbook`.

The staged collection is found through ANSIBLE_COLLECTIONS_PATH (scripts/bootstrap.sh sets it); the
target interpreter is the test venv's python, so requests/jsonschema are present unless a test says otherwise.
"""
import json
import os
import subprocess
import sys


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


def run_module(name, args, check=False, diff=False, env=None, verbosity=0, python=None, timeout=600):
    """Run podkit.containers.<name> on localhost with ``args`` (a dict) and return an AnsibleRun.

    ``verbosity`` > 0 switches to the default callback so the raw -vvv text can be inspected (result is then {}).
    """
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


def run_playbook(path, extra_vars=None, check=False, diff=False, env=None, inventory='localhost,', timeout=900):
    """Run a playbook with the json callback; returns (parsed json, CompletedProcess)."""
    cmd = ['ansible-playbook', '-i', inventory, '-c', 'local',
           '-e', 'ansible_python_interpreter=%s' % sys.executable, path]
    if extra_vars:
        cmd += ['-e', json.dumps(extra_vars)]
    if check:
        cmd.append('--check')
    if diff:
        cmd.append('--diff')
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False,
                          env=_env(env), timeout=timeout)
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
