# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which module_utils files each module's AnsiballZ payload carries, as ansible-core itself builds it.

Ansible parses every file of that set on the controller and ships it, on every run (docs/performance.md): code a
module cannot use must stay out of its import graph, lazy imports included.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

_COLLECTIONS_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), *(['..'] * 7)))
_PREFIX = 'ansible_collections/podkit/containers/plugins/module_utils/'

# A fresh interpreter: the plugin loader configures a collection finder once per process, and the test runner's
# process has its own.
_BUILD = r'''
import io, json, sys, zipfile, base64, re
from ansible.executor import module_common
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader, module_loader
from ansible.template import Templar
init_plugin_loader([sys.argv[1]])
payloads = {}
for name in sys.argv[2:]:
    context = module_loader.find_plugin_with_context('podkit.containers.' + name)
    built = module_common.modify_module(module_name=context.resolved_fqcn, module_path=context.plugin_resolved_path,
                                        module_args={}, templar=Templar(loader=DataLoader()),
                                        task_vars={'ansible_python_interpreter': sys.executable})
    data = re.search(r"zip_data='([A-Za-z0-9+/=]+)'", built.b_module_data.decode()).group(1)
    payloads[name] = zipfile.ZipFile(io.BytesIO(base64.b64decode(data))).namelist()
print(json.dumps(payloads))
'''

MODULES = ('container_state', 'image_pull', 'systemd_generate', 'registry_login', 'image_info', 'image_copy')


@pytest.fixture(scope='module')
def payloads():
    if not os.path.isdir(os.path.join(_COLLECTIONS_ROOT, 'ansible_collections', 'podkit', 'containers')):
        pytest.skip('not run from a tree under ansible_collections/podkit/containers')
    proc = subprocess.run([sys.executable, '-c', _BUILD, _COLLECTIONS_ROOT] + list(MODULES), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict((name, sorted(f[len(_PREFIX):] for f in files if f.startswith(_PREFIX) and not f.endswith('__init__.py')))
                for name, files in json.loads(proc.stdout).items())


def test_container_state_carries_no_copy_engine(payloads):
    files = payloads['container_state']
    # It pulls through podman (and verifies signatures first): registry client and signature code, no copy engine.
    assert 'lifecycle/pull.py' in files and 'registry/client.py' in files and 'signatures/verify.py' in files
    assert [f for f in files if f.startswith('copy/')] == []
    assert 'usecases/image_pull.py' not in files


@pytest.mark.parametrize('name', ['container_state', 'image_pull', 'image_info'])
def test_verifying_modules_carry_no_signing_code(payloads, name):
    files = payloads[name]
    assert 'signatures/verify.py' in files and 'signatures/keys.py' in files
    assert [f for f in files if f in ('signatures/private_keys.py', 'signatures/_secretbox.py', 'signatures/copying.py')] == []


def test_image_copy_carries_the_signing_code(payloads):
    assert 'signatures/private_keys.py' in payloads['image_copy'] and 'signatures/_secretbox.py' in payloads['image_copy']


def test_image_pull_carries_the_copy_engine_for_dest(payloads):
    files = payloads['image_pull']
    assert 'usecases/image_pull.py' in files and 'copy/engine.py' in files and 'copy/transports.py' in files


def test_systemd_generate_carries_no_registry_code(payloads):
    files = payloads['systemd_generate']
    assert [f for f in files if f.startswith(('registry/client', 'copy/', 'signatures/'))] == []


@pytest.mark.parametrize('name', ['registry_login', 'image_info'])
def test_registry_modules_carry_no_lifecycle_code(payloads, name):
    assert [f for f in payloads[name] if f.startswith(('lifecycle/', 'copy/'))] == []


@pytest.mark.parametrize('name', MODULES)
def test_each_module_carries_its_own_use_case_only(payloads, name):
    assert [f for f in payloads[name] if f.startswith('usecases/')] == ['usecases/%s.py' % name]
