"""Build this collection the way a release does and install the tarball the way a user does.

The source is the staged tree the tests run in (scripts/bootstrap.sh), so the tarball holds what a
`git clone` + `ansible-galaxy collection build` would.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import os
import subprocess
import sys

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def tool(name):
    """Path of a console script of the test venv (ansible-galaxy, ansible-runner, ...)."""
    return os.path.join(BIN, name)


def run(cmd, env=None, cwd=None, timeout=300):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          env=env, cwd=cwd, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise AssertionError('%s failed (rc=%s)\nstdout:\n%s\nstderr:\n%s'
                             % (' '.join(cmd), proc.returncode, proc.stdout, proc.stderr))
    return proc


def build(src, output_dir):
    """`ansible-galaxy collection build` of ``src`` into ``output_dir``; returns the tarball path."""
    run([tool('ansible-galaxy'), 'collection', 'build', '--force', '--output-path', str(output_dir), str(src)])
    tarballs = glob.glob(os.path.join(str(output_dir), 'podkit-containers-*.tar.gz'))
    assert len(tarballs) == 1, tarballs
    return tarballs[0]


def install(tarball, collections_dir):
    """`ansible-galaxy collection install -p collections_dir tarball` (no network: no dependencies)."""
    run([tool('ansible-galaxy'), 'collection', 'install', '--force', '-p', str(collections_dir), tarball],
        env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections_dir)))
    installed = os.path.join(str(collections_dir), 'ansible_collections', 'podkit', 'containers')
    assert os.path.isfile(os.path.join(installed, 'MANIFEST.json')), installed
    return installed


def module_names(root=COLLECTION_ROOT):
    return sorted(os.path.splitext(os.path.basename(p))[0] for p in glob.glob(os.path.join(root, 'plugins', 'modules', '*.py'))
                  if not os.path.basename(p).startswith('_'))


def module_works(name, root=COLLECTION_ROOT):
    """A module is 'present' when its file exists and ansible-doc can read its documentation."""
    if not os.path.isfile(os.path.join(root, 'plugins', 'modules', name + '.py')):
        return False
    proc = subprocess.run([tool('ansible-doc'), '--json', 'podkit.containers.' + name], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, check=False, timeout=120)
    return proc.returncode == 0 and ('podkit.containers.' + name) in proc.stdout
