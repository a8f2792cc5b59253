"""The README's main-job command, end to end, in a temporary directory."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import subprocess


def test_demo_script(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PODKIT_DEMO_DIR=str(tmp_path / 'demo'))
    proc = subprocess.run([os.path.join(root, 'scripts', 'demo.sh')], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, env=env, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert 'failed=0' in proc.stdout and 'second login changed: False' in proc.stdout
    password = [line.split(': ', 1)[1] for line in (tmp_path / 'demo' / 'secrets.yml').read_text().splitlines()
                if line.startswith('demo_password')][0]
    assert password not in proc.stdout
