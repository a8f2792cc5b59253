# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module boundary: results and their warnings, errors, the merged argument specs, the run_command callables."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.podkit.containers.plugins.module_utils import common
from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError


class Finished(Exception):
    pass


class FakeModule(object):
    """What run_module uses of AnsibleModule; exit_json/fail_json end the task like the real ones (by raising)."""

    def __init__(self):
        self.warnings = []
        self.calls = []

    def warn(self, text):
        self.warnings.append(text)

    def exit_json(self, **result):
        raise Finished('exit', result)

    def fail_json(self, **result):
        raise Finished('fail', result)

    def run_command(self, argv, **kwargs):
        self.calls.append((argv, kwargs))
        return 0, 'out', ''


def finish(module, func, *args):
    with pytest.raises(Finished) as done:
        common.run_module(module, func, *args)
    return done.value.args


def test_warnings_of_the_core_go_to_module_warn_and_leave_the_result():
    module = FakeModule()
    how, result = finish(module, lambda: {'changed': False, 'tags': [], 'warnings': ['cannot list the tags of x: denied', 'two']})
    assert how == 'exit' and result == {'changed': False, 'tags': []}
    assert module.warnings == ['cannot list the tags of x: denied', 'two']


def test_a_result_without_warnings_warns_nothing():
    module = FakeModule()
    assert finish(module, lambda x: {'changed': x}, True) == ('exit', {'changed': True})
    assert module.warnings == []


def test_a_core_error_is_one_fail_json():
    def core():
        raise ConfigError('tag and digest are mutually exclusive', option='tag')
    module = FakeModule()
    assert finish(module, core) == ('fail', {'msg': 'tag and digest are mutually exclusive', 'option': 'tag'})
    assert module.warnings == []


def test_module_kwargs_merges_the_groups_and_their_constraints():
    kwargs = common.module_kwargs(dict(name=dict(type='str', required=True)), groups=(common.AUTH_OPTIONS, common.SIGNATURE_OPTIONS),
                                  mutually_exclusive=[('tag', 'digest')], required_together=[('a', 'b')])
    spec = kwargs['argument_spec']
    assert set(spec) == set(common.AUTH_ARGSPEC) | set(common.SIGNATURES_ARGSPEC) | set(['name'])
    assert spec['password'] == dict(type='str', no_log=True)
    assert kwargs['required_together'] == [('username', 'password'), ('client_cert', 'client_key'), ('a', 'b')]
    assert kwargs['mutually_exclusive'] == [('tag', 'digest')] and kwargs['supports_check_mode'] is True
    assert 'required_if' not in kwargs and common.module_kwargs({})['required_together'] is None
    # The shared specs themselves are not changed by a module's merge.
    assert 'name' not in common.AUTH_ARGSPEC


def test_module_kwargs_refuses_a_module_that_redefines_a_shared_option():
    with pytest.raises(ValueError, match='options defined twice: password'):
        common.module_kwargs(dict(password=dict(type='str')), groups=(common.AUTH_OPTIONS,))
    with pytest.raises(ValueError, match='options defined twice: command'):
        common.module_kwargs({}, groups=(dict(command=dict(type='raw')), dict(command=dict(type='str'))))


def test_the_modules_argument_specs_are_what_ansible_accepts():
    # AnsibleModule validates the merged spec (aliases, types, constraints naming unknown options) on creation.
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    # A plain argument spec is a group without constraints (the container spec's table hands one over).
    from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.spec import argument_spec
    auth, spec, signatures = common.AUTH_OPTIONS, argument_spec(), common.SIGNATURE_OPTIONS
    for groups in ((auth,), (auth, signatures, spec), (spec,)):
        kwargs = common.module_kwargs({}, groups=groups)
        validator = ArgumentSpecValidator(kwargs['argument_spec'], required_together=kwargs.get('required_together'))
        result = validator.validate({'username': 'u'} if auth in groups else {})
        expected = ['parameters are required together: username, password'] if auth in groups else []
        assert [str(e) for e in result.errors] == expected


@pytest.mark.parametrize('binary, expected', [
    (False, dict(data='in', environ_update={'A': '1'}, check_rc=False)),
    (True, dict(data='in', binary_data=True, environ_update={'A': '1'}, encoding=None, check_rc=False)),
])
def test_command_runner(binary, expected):
    module = FakeModule()
    assert common.command_runner(module, binary=binary)(['podman', 'pull'], data='in', env={'A': '1'}) == (0, 'out', '')
    assert module.calls == [(['podman', 'pull'], expected)]
