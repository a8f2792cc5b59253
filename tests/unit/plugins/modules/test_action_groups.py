# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every member of an action group (meta/runtime.yml) accepts every option its group's documentation offers, so that
``module_defaults: {group/podkit.containers.NAME: {...}}`` never fails a member with "Unsupported parameters".

The group's options are read from the documentation, not listed here: the ``action_group`` attribute fragment whose
``membership`` names the group says which documentation fragment's options the group carries.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import os
import re

import pytest
import yaml

from ansible_collections.podkit.containers.plugins.doc_fragments import attributes

_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..'))
_PREFIX = 'ansible_collections.podkit.containers.plugins.'
_FRAGMENT_REF = re.compile(r'C\(podkit\.containers\.(\w+)\) documentation fragment')


def _runtime_groups():
    with open(os.path.join(_ROOT, 'meta', 'runtime.yml')) as f:
        return yaml.safe_load(f)['action_groups']


def _action_group_fragments():
    """{group name: set of doc fragment names its action_group attribute fragments point at}."""
    groups = {}
    for name in dir(attributes.ModuleDocFragment):
        if not name.startswith('ACTIONGROUP_'):
            continue
        attribute = yaml.safe_load(getattr(attributes.ModuleDocFragment, name))['attributes']['action_group']
        for group in attribute['membership']:
            groups.setdefault(group.rsplit('.', 1)[-1], set()).update(_FRAGMENT_REF.findall(attribute['description']))
    return groups


def _fragment_options(fragment):
    """{option: set of its names (option and aliases)} of doc fragment ``fragment`` (``name`` or ``name.VARIANT``)."""
    module, _dot, variant = fragment.partition('.')
    cls = importlib.import_module(_PREFIX + 'doc_fragments.' + module).ModuleDocFragment
    options = yaml.safe_load(getattr(cls, variant.upper() or 'DOCUMENTATION'))['options']
    return dict((name, set([name] + list(spec.get('aliases') or ()))) for name, spec in options.items())


class _Captured(Exception):
    pass


def _argument_spec(module_name, monkeypatch):
    """The argument spec module ``module_name`` hands AnsibleModule, captured before anything runs."""
    module = importlib.import_module(_PREFIX + 'modules.' + module_name)

    def capture(**kwargs):
        raise _Captured(kwargs['argument_spec'])
    monkeypatch.setattr(module, 'AnsibleModule', capture)
    with pytest.raises(_Captured) as caught:
        module.main()
    return caught.value.args[0]


def _member_cases():
    fragments = _action_group_fragments()
    return [(group, member, sorted(fragments.get(group, ()))) for group, members in sorted(_runtime_groups().items())
            for member in members]


def test_every_runtime_group_documents_its_options():
    fragments = _action_group_fragments()
    for group in _runtime_groups():
        assert fragments.get(group), 'group %s: no action_group fragment names the documentation fragment of its options' % group


@pytest.mark.parametrize('group, member, fragments', _member_cases())
def test_member_accepts_group_options(group, member, fragments, monkeypatch):
    spec = _argument_spec(member, monkeypatch)
    accepted = set(spec)
    for option in spec.values():
        accepted.update(option.get('aliases') or ())
    missing = []
    for fragment in fragments:
        for option, names in sorted(_fragment_options(fragment).items()):
            missing.extend(sorted(names - accepted))
    assert not missing, 'podkit.containers.%s (group %s) does not accept: %s' % (member, group, ', '.join(missing))


@pytest.mark.parametrize('group, member, fragments', _member_cases())
def test_member_documents_group(group, member, fragments):
    documentation = yaml.safe_load(importlib.import_module(_PREFIX + 'modules.' + member).DOCUMENTATION)
    extends = documentation.get('extends_documentation_fragment') or []
    for fragment in fragments:
        assert 'podkit.containers.' + fragment in extends, '%s does not document %s' % (member, fragment)
    memberships = set()
    for name in extends:
        if name.startswith('podkit.containers.attributes.actiongroup_'):
            variant = name.rsplit('.', 1)[-1].upper()
            memberships.update(yaml.safe_load(getattr(attributes.ModuleDocFragment, variant))['attributes']['action_group']['membership'])
    assert 'podkit.containers.' + group in memberships, '%s does not document its membership of %s' % (member, group)


@pytest.mark.parametrize('given, side, expected', [
    # The shared option's default neither overrides an explicit side option nor hides a shared value.
    (dict(insecure=True), dict(), dict(insecure=True, validate_certs=True)),
    (dict(insecure=True), dict(src_insecure=False), dict(insecure=False)),
    (dict(), dict(src_validate_certs=False), dict(validate_certs=False, insecure=False)),
    (dict(validate_certs=False), dict(src_validate_certs=True), dict(validate_certs=True)),
    (dict(username='u', password='p', ca_cert='/ca.pem', client_cert='/c.pem', client_key='/k.pem'),
     dict(src_username='s', src_password='sp', src_client_cert='/sc.pem', src_client_key='/sk.pem'),
     dict(username='s', password='sp', ca_cert='/ca.pem', client_cert='/sc.pem', client_key='/sk.pem')),
])
def test_image_copy_sides_fall_back_to_shared_options(given, side, expected, monkeypatch):
    from ansible_collections.podkit.containers.plugins.module_utils.options import RegistryOptions
    spec = _argument_spec('image_copy', monkeypatch)
    params = dict((name, option.get('default')) for name, option in spec.items())
    params.update(given)
    params.update(side)
    src = RegistryOptions.from_params(params, prefix='src_')
    for name, value in expected.items():
        assert getattr(src, name) == value, name
    # The other side sees the shared options only.
    dest = RegistryOptions.from_params(params, prefix='dest_')
    for name in given:
        assert getattr(dest, name) == given[name], name
