# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The layers of module_utils (docs/dev/architecture.md), read from the imports of every file: module-level and
in-function imports alike, so that a lazy import cannot hide an upward dependency or a cycle.

modules -> common (the boundary) -> usecases (one entry per module) -> copy | lifecycle -> signatures -> registry
-> files | options | documents -> errors. A package imports only from packages below it; use cases do not import each other;
a module imports the boundary and its own use case, nothing else of module_utils.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os

import pytest

_PLUGINS = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', 'plugins'))
_MODULE_UTILS = os.path.join(_PLUGINS, 'module_utils')
_PREFIX = 'ansible_collections.podkit.containers.plugins.module_utils'

# The layer of each package (a top-level file counts as a package of its own). Same number: neither imports the other.
LAYERS = {
    'errors': 0,
    'files': 1,
    'options': 1,
    'documents': 1,
    'registry': 2,
    'signatures': 3,
    'copy': 4,
    'lifecycle': 4,
    'usecases': 5,
    'common': 6,
}


def imported_paths(source, filename='<source>'):
    """[(line, module_utils path as a tuple of names)] of every import of this collection's module_utils in
    ``source``, wherever it stands (module level, functions, methods, try blocks)."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                raise AssertionError('%s:%d: relative import; module_utils imports use the full path' % (filename, node.lineno))
            names = [node.module or '']
            if node.module == _PREFIX:
                # from ...module_utils import files: the names are the modules.
                names = ['%s.%s' % (_PREFIX, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            if name.startswith(_PREFIX + '.'):
                found.append((node.lineno, tuple(name[len(_PREFIX) + 1:].split('.'))))
    return found


def package_of(path):
    """The package of a module_utils path: ('registry', 'client') -> 'registry', ('errors',) -> 'errors'."""
    return path[0]


def _sources(directory):
    for root, dirs, names in os.walk(directory):
        dirs.sort()
        for name in sorted(names):
            if name.endswith('.py'):
                path = os.path.join(root, name)
                with open(path) as handle:
                    yield os.path.relpath(path, directory), handle.read()


def _edges():
    """[(file, line, importing package, imported path)] over all of module_utils."""
    edges = []
    for relpath, source in _sources(_MODULE_UTILS):
        parts = tuple(relpath[:-len('.py')].split(os.sep))
        if parts[-1] == '__init__':
            parts = parts[:-1]
        if not parts:
            continue
        for line, path in imported_paths(source, relpath):
            edges.append((relpath, line, package_of(parts), path))
    return edges


@pytest.fixture(scope='module')
def edges():
    found = _edges()
    assert found, 'no imports found under %s' % _MODULE_UTILS
    return found


def upward(edges, layers=None):
    """The imports that break the layers: to a package of the same or a higher layer (or of no layer)."""
    layers = LAYERS if layers is None else layers
    bad = []
    for relpath, line, package, path in edges:
        target = package_of(path)
        if target == package:
            continue
        if package not in layers or target not in layers or layers[target] >= layers[package]:
            bad.append('%s:%d: %s imports %s' % (relpath, line, package, '.'.join(path)))
    return bad


def package_cycles(edges):
    """Each cycle of the package graph, as a list of packages (depth-first search)."""
    graph = {}
    for dummy, dummy, package, path in edges:
        if package_of(path) != package:
            graph.setdefault(package, set()).add(package_of(path))
    cycles = []
    state = {}

    def visit(node, trail):
        state[node] = 'open'
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 'open':
                cycles.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 'done'

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return cycles


def test_every_package_has_a_layer(edges):
    packages = set(e[2] for e in edges) | set(package_of(e[3]) for e in edges)
    assert sorted(packages - set(LAYERS)) == [], 'give the new package its place in LAYERS and in docs/dev/architecture.md'


def test_packages_import_only_from_below(edges):
    assert upward(edges) == []


def test_no_cycle_between_packages(edges):
    assert package_cycles(edges) == []


def test_use_cases_do_not_import_each_other(edges):
    # Code two use cases share belongs in a domain package below them.
    assert ['%s:%d' % (e[0], e[1]) for e in edges if e[2] == 'usecases' and package_of(e[3]) == 'usecases'] == []


def test_modules_import_the_boundary_and_their_use_case_only():
    modules = list(_sources(os.path.join(_PLUGINS, 'modules')))
    assert modules
    wrong = []
    for relpath, source in modules:
        name = os.path.splitext(os.path.basename(relpath))[0]
        allowed = [('common',), ('usecases', name)]
        wrong.extend('%s:%d imports %s' % (relpath, line, '.'.join(path)) for line, path in imported_paths(source, relpath)
                     if path not in allowed)
        assert ('usecases', name) in [path for dummy, path in imported_paths(source, relpath)], '%s has no use case' % relpath
    assert wrong == []


# -- the checks themselves catch what they are for -------------------------------------------------

_LAZY_UPWARD = '''
from %(p)s.errors import ConfigError
from %(p)s import files

def late():
    try:
        from %(p)s.signatures.verify import verify_image
    except ImportError:
        import %(p)s.usecases.image_pull
''' % dict(p=_PREFIX)


def test_in_function_imports_are_seen():
    assert imported_paths(_LAZY_UPWARD) == [(2, ('errors',)), (3, ('files',)), (7, ('signatures', 'verify')),
                                            (9, ('usecases', 'image_pull'))]


def test_an_upward_import_and_a_hidden_cycle_are_reported():
    found = [('registry/inspect.py', line, 'registry', path) for line, path in imported_paths(_LAZY_UPWARD)]
    assert upward(found) == ['registry/inspect.py:7: registry imports signatures.verify',
                             'registry/inspect.py:9: registry imports usecases.image_pull']
    # The cycle that in-function imports hid before the use cases had a layer: registry/inspect.py used the signatures, signatures/registries_d.py the client.
    found.append(('signatures/registries_d.py', 40, 'signatures', ('registry', 'client')))
    assert package_cycles(found) == [['registry', 'signatures', 'registry']]
    # A package without a layer is an error too.
    assert upward([('new/x.py', 1, 'new', ('errors',))]) == ['new/x.py:1: new imports errors']
