"""Credential-leak sweep: registry_login, image_info, image_copy and image_pull with a password against the
https + htpasswd registry, through ansible at -vvv, while every new process's argv and environment is sampled
(tools.ProcessSampler, every 20 ms). Afterwards the output, the temporary directories, the stage and the auth
files are scanned: the password (raw, url-encoded, JSON-escaped, base64) and base64(user:password) appear nowhere,
except base64(user:password) in the auth file registry_login wrote, which is where it belongs.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import json
import os
import pathlib
import time

import reliability
from images import push
from tools import ProcessSampler, podman, secret_scan

# Bigger than a file a run could leave with credentials in it; registry blobs and the like are skipped.
_SCAN_LIMIT = 4 * 1024 * 1024


def _files_changed_since(root, since, skip=()):
    """Paths under ``root`` modified at or after ``since`` (small files only), not under ``skip``."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in skip]
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if st.st_mtime >= since and st.st_size <= _SCAN_LIMIT and os.path.isfile(path) and not os.path.islink(path):
                found.append(pathlib.Path(path))
    return found


def _playbook(tmp_path, tasks, secrets_file):
    """One play running ``tasks`` [(module, args, expect_failure)], each result registered and all of them written to
    results.json at the end. Secrets come from ``secrets_file`` (vars_files, as a vault would provide them): never
    on ansible's own command line, which the sampler watches too."""
    lines = []
    for number, (module, args, expect_failure) in enumerate(tasks):
        task = {'name': 'task %d %s' % (number, module), 'podkit.containers.' + module: args, 'register': 'r%d' % number}
        if expect_failure:
            task['ignore_errors'] = True
        lines.append(task)
    results = '{{ [%s] | to_json }}' % ', '.join('r%d' % n for n in range(len(tasks)))
    lines.append({'name': 'results', 'ansible.builtin.copy': {'content': results, 'dest': str(tmp_path / 'results.json'),
                                                              'mode': '0600'}})
    play = [{'hosts': 'localhost', 'gather_facts': False, 'vars_files': [str(secrets_file)], 'tasks': lines}]
    path = tmp_path / 'leak.yml'
    path.write_text(json.dumps(play, indent=1))  # JSON is YAML
    return path


def test_no_credential_leaks_at_vvv(run_playbook, registry_tls_basic, images, tmp_path):
    reg = registry_tls_basic
    user_pass = '%s:%s' % (reg.username, reg.password)
    secrets = [reg.password, user_pass]
    pushed = push(images.base, reg, 'leak/base:1')
    secrets_file = tmp_path / 'secrets.json'
    fd = os.open(str(secrets_file), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w') as f:
        json.dump({'leak_password': reg.password, 'wrong_password': reg.password + '-wrong'}, f)
    ansible_tmp = tmp_path / 'ansible-tmp'
    ansible_tmp.mkdir()
    env = {'ANSIBLE_LOCAL_TEMP': str(ansible_tmp / 'local'), 'ANSIBLE_REMOTE_TEMP': str(ansible_tmp / 'remote')}
    auth_file = tmp_path / 'login' / 'auth.json'
    empty_auth = tmp_path / 'empty-auth.json'
    empty_auth.write_text('{"auths": {}}')
    password = '{{ leak_password }}'
    creds = dict(username=reg.username, password=password, ca_cert=reg.ca_cert, auth_file=str(empty_auth))
    src = dict(src_username=reg.username, src_password=password, src_ca_cert=reg.ca_cert)
    dest = dict(dest_username=reg.username, dest_password=password, dest_ca_cert=reg.ca_cert)
    pull_name = '%s/leak/base:1' % reg.host
    tasks = [
        ('registry_login', dict(registry=reg.host, username=reg.username, password=password, auth_file=str(auth_file),
                                ca_cert=reg.ca_cert), False),
        ('image_info', dict(creds, name=pushed.ref), False),
        ('image_info', dict(creds, name='%s/leak/missing:1' % reg.host), True),  # a failure's message and details
        ('registry_login', dict(registry=reg.host, username=reg.username, password='{{ wrong_password }}',
                                auth_file=str(tmp_path / 'rejected.json'), ca_cert=reg.ca_cert), True),
        ('image_copy', dict(src, **dest, src='docker://%s' % pushed.ref, dest='docker://%s/leak/copy:1' % reg.host,
                            auth_file=str(empty_auth)), False),
        ('image_copy', dict(src, src='docker://%s' % pushed.ref, dest='oci:%s:leak' % (tmp_path / 'layout'),
                            auth_file=str(empty_auth)), False),
        ('image_pull', dict(creds, name=pull_name, dest='oci-archive:%s:leak' % (tmp_path / 'pulled.tar')), False),
        ('image_pull', dict(creds, name=pull_name, policy='always'), False),  # into podman's storage: podman gets the creds
    ]
    playbook = _playbook(tmp_path, tasks, secrets_file)
    started = time.time() - 1  # mtimes have coarse granularity on some file systems
    podman('rmi', '-f', pull_name, check=False)
    try:
        with ProcessSampler(secrets, interval=0.02) as sampler:
            dummy, proc = run_playbook(str(playbook), env=env, verbosity=3)
    finally:
        podman('rmi', '-f', pull_name, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    results = json.loads((tmp_path / 'results.json').read_text())
    assert [bool(r.get('failed')) for r in results] == [t[2] for t in tasks], results
    for result in results:
        assert reliability.result_problem(_Run(result)) is None, result
    commands = ' '.join(sampler.processes.values())
    # The sweep saw what it is meant to watch: ansible, the module's interpreter and podman.
    assert 'ansible-playbook' in commands and 'podman' in commands and sampler.samples >= 50, \
        (sampler.samples, len(sampler.processes))

    assert 'Traceback' not in proc.stdout + proc.stderr, proc.stdout[-3000:]
    skip = {str(auth_file), str(secrets_file)}
    files = [p for p in _files_changed_since(str(tmp_path), started) if str(p) not in skip]
    stage = os.environ.get('PODKIT_STAGE')
    if stage:
        files += _files_changed_since(stage, started)
    tmp = os.environ.get('TMPDIR') or '/tmp'
    files += _files_changed_since(tmp, started, skip={str(tmp_path)})
    for default_auth in (os.path.join(os.environ.get('XDG_RUNTIME_DIR') or '/run/user/%d' % os.getuid(), 'containers', 'auth.json'),
                         '/run/containers/%d/auth.json' % os.getuid(),
                         os.path.expanduser('~/.config/containers/auth.json'), os.path.expanduser('~/.docker/config.json')):
        if os.path.exists(default_auth):
            files.append(pathlib.Path(default_auth))
    leaks = len(sampler.leaks)
    problems = ['/proc/%s/%s of %s (secret #%d, %s)' % (pid, where, command, index, form)
                for pid, command, where, index, form in sampler.leaks]
    try:
        secret_scan([proc] + files, secrets)
    except AssertionError as exc:
        leaks += 1
        problems.append(str(exc))
    # The one place the credentials belong: registry_login's auth file, as base64(user:password) only.
    stored = json.loads(auth_file.read_text())
    assert stored == {'auths': {reg.host: {'auth': base64.b64encode(user_pass.encode()).decode()}}}
    assert reg.password.encode() not in auth_file.read_bytes()
    remote = ansible_tmp / 'remote'
    assert not remote.exists() or not any(os.scandir(str(remote))), 'ansible left module files (with their arguments)'
    reliability.record('leak_sweep', dict(tasks=len(tasks), process_samples=sampler.samples, processes=len(sampler.processes),
                                          files_scanned=len(files), leaks=leaks))
    assert not problems, '\n'.join(problems)


class _Run(object):
    """A registered task result in the shape reliability.result_problem reads."""

    def __init__(self, result):
        self.result = result


def test_sampler_catches_a_password_in_argv_and_environment():
    """The sweep above is only as good as its sampler: a short process with the secret in argv, one with it in its
    environment (as base64 of user:password) are both caught."""
    import subprocess
    secret = 'sampler-probe-%d' % os.getpid()
    encoded = base64.b64encode(('someone:%s' % secret).encode()).decode()
    with ProcessSampler([secret, 'someone:' + secret], interval=0.02) as sampler:
        subprocess.run(['sh', '-c', 'sleep 0.3', 'sh', secret], check=True)  # the secret is $1, in argv
        subprocess.run(['sleep', '0.3'], env=dict(os.environ, PODKIT_PROBE=encoded), check=True)
    found = {(where, form) for _pid, _cmd, where, _index, form in sampler.leaks}
    assert ('cmdline', 'raw') in found and ('environ', 'base64') in found, found
