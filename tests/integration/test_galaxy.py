"""Galaxy and execution environments: the built tarball, its installation, ansible-doc, ansible-builder introspect."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import fnmatch
import glob
import json
import os
import shutil
import subprocess
import tarfile

import pytest
import yaml

import collection_build
from collection_build import COLLECTION_ROOT, tool

# Things a test run, a benchmark, lint or a docs build leave in a working tree: none may reach the tarball.
LITTER = {
    'tests/output/junk/result.xml': '<x/>',
    'tests/integration/__pycache__/conftest.cpython-311.pyc': '',
    'plugins/modules/__pycache__/image_info.cpython-311.pyc': '',
    '.pytest_cache/v/cache/lastfailed': '{}',
    'tests/unit/.pytest_cache/README.md': 'x',
    'bench/results/run-1.json': '{}',
    'build/docs/html/index.html': '<html/>',
    '.ansible/collections/x': 'x',
    'changelogs/.plugin-cache.yaml': 'x: 1',
    'podkit-containers-0.0.9.tar.gz': 'x',
}
FORBIDDEN = ['tests/output', '*__pycache__*', '*.pyc', '*.pytest_cache*', '.ci', '.ci/*', 'scripts', 'scripts/*', 'bench', 'bench/*',
             'build', 'build/*', '.ansible', '.ansible/*', '.git', '.git/*', '*.tar.gz', 'Makefile', 'changelogs/.plugin-cache.yaml']


@pytest.fixture(scope='module')
def tarball(tmp_path_factory):
    """Build from a copy of the tree littered with test, cache, bench and docs output."""
    src = tmp_path_factory.mktemp('galaxy-src') / 'containers'
    shutil.copytree(COLLECTION_ROOT, str(src), ignore=shutil.ignore_patterns('tests/output'))
    for rel, content in LITTER.items():
        path = src / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return collection_build.build(src, tmp_path_factory.mktemp('galaxy-out'))


@pytest.fixture(scope='module')
def collections_dir(tarball, tmp_path_factory):
    path = tmp_path_factory.mktemp('galaxy-installed')
    collection_build.install(tarball, path)
    return path


def _names(tarball):
    with tarfile.open(tarball) as tar:
        return [m.name[2:] if m.name.startswith('./') else m.name for m in tar.getmembers()]


def test_tarball_holds_the_collection_and_no_litter(tarball):
    names = _names(tarball)
    leaked = sorted(n for n in names if any(fnmatch.fnmatch(n, pat) for pat in FORBIDDEN))
    assert leaked == [], leaked
    for required in ('MANIFEST.json', 'FILES.json', 'README.md', 'meta/runtime.yml', 'meta/execution-environment.yml',
                     'requirements.txt', 'bindep.txt', 'plugins/module_utils/common.py'):
        assert required in names, required
    for module in collection_build.module_names():
        assert 'plugins/modules/%s.py' % module in names
    for playbook in glob.glob(os.path.join(COLLECTION_ROOT, 'playbooks', '*.yml')):
        assert 'playbooks/' + os.path.basename(playbook) in names
    with tarfile.open(tarball) as tar:
        manifest = json.load(tar.extractfile('MANIFEST.json'))
    assert manifest['collection_info']['namespace'] == 'podkit' and manifest['collection_info']['name'] == 'containers'
    assert manifest['collection_info']['dependencies'] == {}


def _doc_env(collections_dir):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections_dir), ANSIBLE_NOCOLOR='1')
    return env


def test_ansible_doc_lists_every_module(collections_dir):
    env = _doc_env(collections_dir)
    listed = collection_build.run([tool('ansible-doc'), '-l', '--json', 'podkit.containers'], env=env).stdout
    listed = sorted(k.split('.', 2)[2] for k in json.loads(listed))
    assert listed == collection_build.module_names(), listed


@pytest.mark.parametrize('module', collection_build.module_names())
def test_ansible_doc_reads_module(collections_dir, module):
    fqcn = 'podkit.containers.' + module
    docs = json.loads(collection_build.run([tool('ansible-doc'), '--json', fqcn], env=_doc_env(collections_dir)).stdout)
    doc = docs[fqcn]['doc']
    assert doc['short_description'] and doc['options'], fqcn
    assert docs[fqcn]['examples'], fqcn


def test_action_groups_name_existing_modules(collections_dir):
    with open(os.path.join(str(collections_dir), 'ansible_collections', 'podkit', 'containers', 'meta', 'runtime.yml')) as f:
        groups = yaml.safe_load(f)['action_groups']
    members = set(groups['registry']) | set(groups['podman'])
    # Every module is in a group (module_defaults reaches it), and no group names a module that does not exist.
    assert members == set(collection_build.module_names()), members
    assert {'registry_login', 'image_info'} <= set(groups['registry'])


def test_roles_with_argument_specs_are_documented(collections_dir):
    roles = sorted(os.path.basename(os.path.dirname(os.path.dirname(p)))
                   for p in glob.glob(os.path.join(COLLECTION_ROOT, 'roles', '*', 'meta', 'argument_specs.y*ml')))
    if not roles:
        pytest.skip('no role with meta/argument_specs.yml in roles/ yet')
    env = _doc_env(collections_dir)
    listed = json.loads(collection_build.run([tool('ansible-doc'), '-t', 'role', '-l', '--json', 'podkit.containers'], env=env).stdout)
    assert sorted(k.split('.', 2)[2] for k in listed) == roles
    for role in roles:
        out = collection_build.run([tool('ansible-doc'), '-t', 'role', 'podkit.containers.' + role], env=env).stdout
        assert 'ENTRY POINT' in out, out


def test_execution_environment_introspect(collections_dir):
    """What ansible-builder reads from the installed collection: meta/execution-environment.yml and its two files."""
    with open(os.path.join(COLLECTION_ROOT, 'meta', 'execution-environment.yml')) as f:
        ee = yaml.safe_load(f)
    assert ee['version'] == 1 and ee['dependencies'] == {'python': 'requirements.txt', 'system': 'bindep.txt'}
    proc = subprocess.run([tool('ansible-builder'), 'introspect', '--sanitize', str(collections_dir)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = yaml.safe_load(proc.stdout)
    origin = '  # from collection podkit.containers'
    python = [line.replace(origin, '') for line in data['python']]
    assert all(line.endswith(origin) for line in data['python']), data['python']
    assert sorted(p.split('>')[0].split('=')[0] for p in python) == ['jsonschema', 'requests']
    assert python == _lines(os.path.join(COLLECTION_ROOT, 'requirements.txt'))
    system = [line.replace(origin, '') for line in data['system']]
    assert system == _lines(os.path.join(COLLECTION_ROOT, 'bindep.txt'))
    assert any(line.startswith('podman ') for line in system), system


def _lines(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith('#')]


def test_docs_site_builds_offline_without_warnings(tmp_path):
    """`make docs` (scripts/docs.sh): antsibull-docs RST + Sphinx with -W; its default output dir is git-ignored."""
    out = tmp_path / 'html'
    proc = subprocess.run(['bash', os.path.join(COLLECTION_ROOT, 'scripts', 'docs.sh'), str(out)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout
    assert 'WARNING' not in proc.stdout and 'ERROR' not in proc.stdout, proc.stdout
    for module in collection_build.module_names():
        page = (out / ('%s_module.html' % module)).read_text()
        assert 'podkit.containers.%s' % module in page
    src = os.environ.get('PODKIT_SRC')
    if src and os.path.isdir(os.path.join(src, '.git')):
        ignored = subprocess.run(['git', '-C', src, 'check-ignore', '-q', 'build/docs/html/index.html'], check=False)
        assert ignored.returncode == 0, 'build/docs/html is not git-ignored'
