# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PodmanEngine with a fake run_command: argv, inspect answers, failure messages."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.errors import PodmanError, PodmanNotFoundError
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.podman import PodmanEngine

IMAGE = 'localhost/podkit-lifecycle/busybox:1'


# -- PodmanEngine ------------------------------------------------------------------------------------

class FakeRun(object):
    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = []

    def __call__(self, argv, data=None, env=None):
        self.calls.append(argv)
        return self.answers.pop(0)


def engine(answers):
    return PodmanEngine(FakeRun(answers), executable='podman', which=lambda name: '/usr/bin/' + name)


def test_not_installed():
    with pytest.raises(PodmanNotFoundError) as err:
        PodmanEngine(FakeRun([]), which=lambda name: None)
    assert err.value.msg == 'podman is not installed on the target (or not in PATH): install podman or set executable'
    with pytest.raises(PodmanNotFoundError, match='/nonexistent/podman is not an executable file'):
        PodmanEngine(FakeRun([]), executable='/nonexistent/podman')


def test_inspect_missing_is_none_and_other_errors_raise():
    eng = engine([(125, '[]', 'Error: inspecting object: no such container web\n'),
                  (125, '[]', 'Error: inspecting object: nope:1: image not known\n'),
                  (125, '', 'Error: database is locked\n')])
    assert eng.inspect_container('web') is None
    assert eng.inspect_image('nope:1') is None
    with pytest.raises(PodmanError) as err:
        eng.inspect_container('web')
    assert err.value.msg == 'podman container inspect failed for web: database is locked'
    assert err.value.cmd == ['/usr/bin/podman', 'container', 'inspect', '--format', 'json', 'web']


C_OBJ = {'Id': 'c1', 'Name': 'web', 'State': {'Status': 'running'}}
I_OBJ = {'Id': 'i1', 'RepoTags': ['r.example/a:1']}
NO = 'Error: inspecting object: no such object: "%s"\n'


@pytest.mark.parametrize('answer, expected', [
    # podman's answers as seen from podman 4.3.1 (rc, stdout, stderr): found objects in argument order.
    ((0, json.dumps([C_OBJ, I_OBJ]), ''), (C_OBJ, I_OBJ)),
    ((125, json.dumps([I_OBJ]), NO % 'web'), (None, I_OBJ)),
    ((0, json.dumps([C_OBJ]), 'error inspecting object: no such object: "r.example/a:1"\n'), (C_OBJ, None)),
    ((125, '[]', NO % 'web' + NO % 'r.example/a:1'), (None, None)),
    # ``web`` names an image, not a container
    ((0, json.dumps([I_OBJ, I_OBJ]), ''), (None, I_OBJ)),
])
def test_inspect_container_and_image_one_call(answer, expected):
    eng = engine([answer])
    assert eng.inspect_container_and_image('web', 'r.example/a:1') == expected
    assert eng._run_command.calls == [['/usr/bin/podman', 'inspect', '--format', 'json', 'web', 'r.example/a:1']]


def test_inspect_container_and_image_falls_back_when_the_answer_does_not_add_up():
    eng = engine([(125, '', 'Error: something else\n'),
                  (0, json.dumps([C_OBJ]), ''), (0, json.dumps([I_OBJ]), '')])
    assert eng.inspect_container_and_image('web', 'r.example/a:1') == (C_OBJ, I_OBJ)
    assert [argv[1:3] for argv in eng._run_command.calls] == [['inspect', '--format'], ['container', 'inspect'], ['image', 'inspect']]


def test_failure_message_uses_the_error_line():
    eng = engine([(125, '', 'time="x" level=warning msg="retrying"\nError: name "web" is in use\n')])
    with pytest.raises(PodmanError) as err:
        eng.create(['--name', 'web', IMAGE], name='web')
    assert err.value.msg == 'podman create failed for container web: name "web" is in use'
    assert err.value.rc == 125


def test_argv():
    eng = engine([(0, '', '')] * 8 + [(0, 'sha256:abc\n', '')])
    eng.stop('web', timeout=3)
    eng.kill('web', 'KILL')
    eng.remove('web', force=True, timeout=0)
    eng.remove('web')
    eng.restart('web')
    eng.pause('web')
    eng.unpause('web')
    eng.start('web')
    assert eng.pull('r.example/a:1', auth_file='/tmp/auth.json', tls_verify=False, platform='linux/arm64') == 'sha256:abc'
    assert [c[1:] for c in eng._run_command.calls] == [
        ['stop', '--time', '3', 'web'], ['kill', '--signal', 'KILL', 'web'], ['rm', '--force', '--time', '0', 'web'],
        ['rm', 'web'], ['restart', 'web'], ['pause', 'web'], ['unpause', 'web'], ['start', 'web'],
        ['pull', '--quiet', '--authfile', '/tmp/auth.json', '--tls-verify=false', '--platform', 'linux/arm64', 'r.example/a:1'],
    ]
