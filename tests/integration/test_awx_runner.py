"""Where users run it: AWX/Tower jobs (ansible-runner, the engine AWX uses), ad-hoc commands, module_defaults.

An AWX job is reproduced with ansible-runner's private data dir: project/ holds the example playbooks of
playbooks/ and the collection installed from the built tarball (project/collections, as an AWX project vendors
collections), inventory/hosts, env/extravars (the secrets, as AWX credentials inject them: a file, never argv),
env/envvars (a PATH without podman and skopeo, as in an execution environment) and env/settings. Results are
read from the job events ansible-runner writes (artifacts/<ident>/job_events/*.json), as AWX does.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import json
import os
import shutil
import subprocess
import sys

import pytest

import collection_build
from images import push
from tools import secret_scan

PLAYBOOKS = os.path.join(collection_build.COLLECTION_ROOT, 'playbooks')
# What ansible's local connection and shell plugin run besides python: nothing that touches containers.
SHELL_TOOLS = ('sh', 'bash', 'mkdir', 'chmod', 'rm', 'sleep', 'cat', 'ls', 'id', 'env', 'uname', 'mktemp', 'echo')
CONTAINER_TOOLS = ('podman', 'skopeo', 'buildah', 'docker', 'crun', 'runc', 'conmon')

PROBE_PLAYBOOK = """\
---
- name: The job runs without container tools
  hosts: all
  gather_facts: false
  tasks:
    - name: Look for podman and skopeo
      ansible.builtin.shell: command -v podman || command -v skopeo || echo none
      changed_when: false
      register: found
    - name: None there
      ansible.builtin.assert:
        that: found.stdout == 'none'
- name: The example playbook
  ansible.builtin.import_playbook: %s
"""


@pytest.fixture(scope='module')
def installed_tarball(tmp_path_factory):
    work = tmp_path_factory.mktemp('awx-build')
    return collection_build.build(collection_build.COLLECTION_ROOT, work)


@pytest.fixture(scope='module')
def bare_path(tmp_path_factory):
    """A PATH of symlinks to python, the ansible tools and a few shell utilities: no podman, no skopeo."""
    bindir = tmp_path_factory.mktemp('bare-bin')
    for name in ('python', 'python3', 'ansible', 'ansible-playbook', 'ansible-galaxy', 'ansible-doc', 'ansible-config',
                 'ansible-inventory', 'ansible-runner'):
        os.symlink(collection_build.tool(name), str(bindir / name))
    for name in SHELL_TOOLS:
        found = shutil.which(name)
        if found:
            os.symlink(found, str(bindir / name))
    path = str(bindir)
    for name in CONTAINER_TOOLS:
        assert shutil.which(name, path=path) is None, name
    return path


class Job(object):
    """One ansible-runner job: rc, stdout, and the job events (dicts) in order."""

    def __init__(self, pdd, ident, proc):
        self.pdd = str(pdd)
        self.artifacts = os.path.join(self.pdd, 'artifacts', ident)
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.events = []
        for path in glob.glob(os.path.join(self.artifacts, 'job_events', '*.json')):
            with open(path) as f:
                self.events.append(json.load(f))
        self.events.sort(key=lambda e: e['counter'])
        with open(os.path.join(self.artifacts, 'command')) as f:
            self.command = json.load(f)

    def results(self, action):
        """res of every runner_on_ok/failed event of tasks running ``action`` (FQCN)."""
        return [e['event_data']['res'] for e in self.events
                if e['event'] in ('runner_on_ok', 'runner_on_failed') and e['event_data'].get('task_action') == action]

    def status(self):
        with open(os.path.join(self.artifacts, 'status')) as f:
            return f.read().strip()

    def explain(self):
        return 'rc=%s status=%s\nstdout:\n%s\nstderr:\n%s' % (self.rc, self.status(), self.stdout[-6000:], self.stderr[-3000:])


def _yaml_dump(data):
    return json.dumps(data, indent=2)  # JSON is YAML, and ansible-runner reads env/* as YAML


def make_pdd(base, tarball, playbook, extravars, bare_path):
    """An ansible-runner private data dir laid out as AWX lays one out for a job."""
    pdd = base / 'pdd'
    project = pdd / 'project'
    project.mkdir(parents=True)
    shutil.copy(os.path.join(PLAYBOOKS, playbook), str(project / playbook))
    (project / 'job.yml').write_text(PROBE_PLAYBOOK % playbook)
    collection_build.install(tarball, project / 'collections')
    (pdd / 'inventory').mkdir()
    (pdd / 'inventory' / 'hosts').write_text(
        'localhost ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)
    env = pdd / 'env'
    env.mkdir()
    (env / 'extravars').write_text(_yaml_dump(extravars))
    os.chmod(str(env / 'extravars'), 0o600)
    (env / 'envvars').write_text(_yaml_dump({
        'PATH': bare_path,
        # Only the collection the project vendors (AWX adds the project's collections dir to the path),
        # not the staged tree the other tests use.
        'ANSIBLE_COLLECTIONS_PATH': str(project / 'collections'),
        'ANSIBLE_COLLECTIONS_SCAN_SYS_PATH': 'False',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_DEPRECATION_WARNINGS': 'False',
    }))
    (env / 'settings').write_text(_yaml_dump({'suppress_ansible_output': False, 'job_timeout': 300}))
    return pdd


def run_job(pdd, bare_path, ident='job1'):
    env = dict(os.environ, PATH=bare_path)
    env.pop('ANSIBLE_COLLECTIONS_PATH', None)
    env.pop('ANSIBLE_CALLBACK_PLUGINS', None)
    proc = subprocess.run([collection_build.tool('ansible-runner'), 'run', str(pdd), '-p', 'job.yml', '--ident', ident],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=env,
                          timeout=600, check=False)
    return Job(pdd, ident, proc)


def test_awx_job_inspect_image(registry_http, images, installed_tarball, bare_path, tmp_path):
    pushed = push(images.app, registry_http, 'awx/app:1.0')
    pdd = make_pdd(tmp_path, installed_tarball, 'inspect_image.yml',
                   {'image': pushed.ref, 'registry_insecure': True}, bare_path)
    job = run_job(pdd, bare_path)
    assert job.rc == 0 and job.status() == 'successful', job.explain()
    (res,) = job.results('podkit.containers.image_info')
    assert res['changed'] is False
    assert res['digest'] == pushed.digest
    assert res['labels']['org.example.app'] == 'podkit-app'
    assert pushed.digest in job.stdout  # the debug task's line, as the AWX job output shows it
    assert any(e['event'] == 'playbook_on_stats' for e in job.events)


def test_awx_job_login_and_inspect_with_module_defaults(registry_tls_basic, images, installed_tarball, bare_path, tmp_path):
    """Credentials once, in module_defaults for group/podkit.containers.registry, from extravars (a file)."""
    reg = registry_tls_basic
    pushed = push(images.base, reg, 'awx/base:1')
    auth_file = tmp_path / 'job-auth' / 'auth.json'
    extravars = {'registry': reg.host, 'image': 'awx/base:1', 'registry_username': reg.username,
                 'registry_password': reg.password, 'registry_ca_cert': reg.ca_cert, 'registry_auth_file': str(auth_file)}
    pdd = make_pdd(tmp_path, installed_tarball, 'login_and_inspect.yml', extravars, bare_path)
    job = run_job(pdd, bare_path)
    assert job.rc == 0 and job.status() == 'successful', job.explain()
    (login,) = job.results('podkit.containers.registry_login')
    assert login['changed'] is True and login['auth_scheme'] == 'basic' and login['username'] == reg.username
    assert json.loads(auth_file.read_text())['auths'][reg.host]['auth']
    (info,) = job.results('podkit.containers.image_info')
    assert info['changed'] is False and info['digest'] == pushed.digest
    # The secret came from a file: not on the job's command line, not in the output or the events.
    assert reg.password not in json.dumps(job.command)
    secret_scan(job.stdout, [reg.password])
    secret_scan(json.dumps(job.events), [reg.password])
    # A second job (as a scheduled AWX job would be) changes nothing.
    again = run_job(pdd, bare_path, ident='job2')
    assert again.rc == 0, again.explain()
    assert again.results('podkit.containers.registry_login')[0]['changed'] is False


def test_awx_job_mirror_image(registry_http, registry_tls_basic, images, installed_tarball, bare_path, tmp_path):
    if not collection_build.module_works('image_copy'):
        pytest.skip('image_copy is not in this tree yet')
    src = push(images.base, registry_http, 'awx/mirror-src:1')
    dest = '%s/awx/mirror:1' % registry_tls_basic.host
    extravars = {'src_image': src.ref, 'dest_image': dest, 'src_insecure': True, 'mirror_username': registry_tls_basic.username,
                 'mirror_password': registry_tls_basic.password, 'dest_ca_cert': registry_tls_basic.ca_cert}
    pdd = make_pdd(tmp_path, installed_tarball, 'mirror_image.yml', extravars, bare_path)
    job = run_job(pdd, bare_path)
    assert job.rc == 0 and job.status() == 'successful', job.explain()
    (res,) = job.results('podkit.containers.image_copy')
    assert res['changed'] is True and res['dest_digest'] == src.digest
    secret_scan(json.dumps(job.events), [registry_tls_basic.password])
    again = run_job(pdd, bare_path, ident='job2')
    assert again.rc == 0, again.explain()
    assert again.results('podkit.containers.image_copy')[0]['changed'] is False


def test_awx_adhoc_command_through_runner(registry_http, images, installed_tarball, bare_path, tmp_path):
    """AWX ad-hoc commands are ansible-runner runs with a module and key=value args."""
    pushed = push(images.base, registry_http, 'awx/adhoc:1')
    pdd = make_pdd(tmp_path, installed_tarball, 'inspect_image.yml', {}, bare_path)
    env = dict(os.environ, PATH=bare_path)
    env.pop('ANSIBLE_COLLECTIONS_PATH', None)
    proc = subprocess.run([collection_build.tool('ansible-runner'), 'run', str(pdd), '--hosts', 'localhost',
                           '-m', 'podkit.containers.image_info', '-a', 'name=%s insecure=true tags=false' % pushed.ref,
                           '--ident', 'adhoc'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          env=env, timeout=300, check=False)
    job = Job(pdd, 'adhoc', proc)
    assert job.rc == 0, job.explain()
    (res,) = job.results('podkit.containers.image_info')
    assert res['digest'] == pushed.digest and res['repo_tags'] == []


def test_adhoc_key_value_is_readable(registry_http, images):
    """`ansible localhost -m podkit.containers.image_info -a 'name=... insecure=true'`, default output."""
    pushed = push(images.base, registry_http, 'adhoc/base:1')
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='False', ANSIBLE_INVENTORY_UNPARSED_WARNING='False')
    for key in ('ANSIBLE_STDOUT_CALLBACK', 'ANSIBLE_LOAD_CALLBACK_PLUGINS', 'ANSIBLE_CALLBACK_PLUGINS'):
        env.pop(key, None)
    proc = subprocess.run([collection_build.tool('ansible'), 'localhost', '-e', 'ansible_python_interpreter=%s' % sys.executable,
                           '-m', 'podkit.containers.image_info', '-a', 'name=%s insecure=true' % pushed.ref],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    head, sep, body = proc.stdout.partition(' => ')
    assert sep and head.strip() == 'localhost | SUCCESS', proc.stdout
    result = json.loads(body)
    assert result['digest'] == pushed.digest and result['changed'] is False
    assert '\n    "digest": "%s"' % pushed.digest in proc.stdout  # indented JSON, one field a line
    assert 'Traceback' not in proc.stderr

    bad = subprocess.run([collection_build.tool('ansible'), 'localhost', '-e', 'ansible_python_interpreter=%s' % sys.executable,
                          '-m', 'podkit.containers.image_info', '-a', 'name=%s/adhoc/absent:1 insecure=true' % registry_http.host],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=env, timeout=300, check=False)
    assert bad.returncode == 2, bad.stdout + bad.stderr
    assert 'localhost | FAILED!' in bad.stdout and 'not found' in bad.stdout and 'Traceback' not in bad.stdout
