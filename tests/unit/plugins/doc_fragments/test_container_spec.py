# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container_spec doc fragment is static text (ansible reads it as it is); the option table is the source.

This test is what keeps them in step: a row added, renamed or retyped without its documentation fails here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
import yaml

from ansible_collections.podkit.containers.plugins.doc_fragments.container_spec import ModuleDocFragment
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle import spec

# What an argument spec entry and its documentation must agree on (ansible's own defaults when absent).
_FIELDS = (('type', 'str'), ('elements', None), ('choices', None), ('default', None), ('required', False),
           ('aliases', None), ('no_log', False))


def _documented():
    return yaml.safe_load(ModuleDocFragment.DOCUMENTATION)['options']


def _differences(path, argspec, documented):
    found = []
    for name in sorted(set(argspec) | set(documented)):
        where = path + name
        if name not in documented:
            found.append('%s: in the table, not documented' % where)
            continue
        if name not in argspec:
            found.append('%s: documented, not in the table' % where)
            continue
        entry, doc = argspec[name], documented[name]
        if not doc.get('description'):
            found.append('%s: no description' % where)
        for field, default in _FIELDS:
            if field == 'no_log':
                # no_log is an argument spec setting only; documentation says it in words.
                continue
            if entry.get(field, default) != doc.get(field, default):
                found.append('%s: %s is %r in the table, %r in the fragment'
                             % (where, field, entry.get(field, default), doc.get(field, default)))
        found += _differences(where + '.', entry.get('options') or {}, doc.get('suboptions') or {})
    return found


def test_fragment_documents_the_table():
    assert _differences('', spec.argument_spec(), _documented()) == []


@pytest.mark.parametrize('change', ['rename', 'retype', 'drop'])
def test_the_check_fails_on_disagreement(change):
    argspec = spec.argument_spec()
    documented = _documented()
    if change == 'rename':
        documented['workdir_x'] = documented.pop('workdir')
    elif change == 'retype':
        documented['healthcheck']['suboptions']['retries']['type'] = 'str'
    else:
        del argspec['memory']
    assert _differences('', argspec, documented) != []
