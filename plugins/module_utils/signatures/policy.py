# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""containers-policy.json(5) (internal; no stable API): which signatures an image from a registry needs.

Facts from containers-policy.json(5): ``default`` (required) and ``transports.<transport>.<scope>`` map to lists
of requirements, all of which must hold; for ``docker`` the most specific scope wins (full reference,
repository, namespaces, registry, ``*.domain`` wildcards), then the transport's ``""`` scope, then ``default``.
Requirement types: ``insecureAcceptAnything``, ``reject``, ``signedBy`` (``keyType: GPGKeys``; exactly one of
``keyPath``, ``keyPaths``, ``keyData``; ``signedIdentity``), ``sigstoreSigned`` (``keyPath`` or ``keyData``, or
``fulcio`` which this collection does not verify; ``signedIdentity``). ``signedIdentity`` defaults to
``matchRepoDigestOrExact``. An unknown type or member is an error, not something to ignore.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os

from ansible_collections.podkit.containers.plugins.module_utils import documents
from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError
from ansible_collections.podkit.containers.plugins.module_utils.signatures.registries_d import scopes_for

SYSTEM_POLICY = '/etc/containers/policy.json'
USER_POLICY = '~/.config/containers/policy.json'
IDENTITY_TYPES = {
    'matchExact': (),
    'matchRepoDigestOrExact': (),
    'matchRepository': (),
    'exactReference': ('dockerReference',),
    'exactRepository': ('dockerRepository',),
    'remapIdentity': ('prefix', 'signedPrefix'),
}
REQUIREMENT_TYPES = ('insecureAcceptAnything', 'reject', 'signedBy', 'sigstoreSigned', 'signedBaseLayer')


def default_path():
    user = os.path.expanduser(USER_POLICY)
    return user if os.path.isfile(user) else SYSTEM_POLICY


class Requirement(object):
    """One requirement: ``type``; for signedBy/sigstoreSigned ``keys`` (list of (source, bytes)) and ``identity``."""

    def __init__(self, kind, keys=None, identity=None, where=None):
        self.type = kind
        self.keys = keys or []
        self.identity = identity or {'type': 'matchRepoDigestOrExact'}
        self.where = where

    @property
    def needs_signature(self):
        return self.type in ('signedBy', 'sigstoreSigned')

    def __repr__(self):
        return 'Requirement(%s)' % self.type


def _read_key(path, where):
    try:
        with open(path, 'rb') as handle:
            return handle.read(4 * 1024 * 1024)
    except (IOError, OSError) as exc:
        raise ConfigError('%s: cannot read key file %s: %s' % (where, path, getattr(exc, 'strerror', None) or exc), path=path)


def _identity(data, where):
    if data is None:
        return {'type': 'matchRepoDigestOrExact'}
    if not isinstance(data, dict) or data.get('type') not in IDENTITY_TYPES:
        raise ConfigError('%s: signedIdentity type %r is not one of %s' % (where, (data or {}).get('type') if isinstance(data, dict) else data,
                                                                           ', '.join(sorted(IDENTITY_TYPES))))
    needed = IDENTITY_TYPES[data['type']]
    unknown = sorted(set(data) - set(('type',) + needed))
    if unknown:
        raise ConfigError('%s: signedIdentity %s does not take %s' % (where, data['type'], ', '.join(unknown)))
    for key in needed:
        if not isinstance(data.get(key), str) or not data[key]:
            raise ConfigError('%s: signedIdentity %s needs %s' % (where, data['type'], key))
    return data


def _key_data(value, where):
    try:
        return base64.b64decode(value, validate=True)
    except (ValueError, TypeError):
        raise ConfigError('%s: keyData is not valid base64' % where)


def parse_requirement(data, where, base_dir=None):
    if not isinstance(data, dict):
        raise ConfigError('%s: a requirement must be an object with a "type"' % where)
    kind = data.get('type')
    if kind not in REQUIREMENT_TYPES:
        raise ConfigError('%s: unknown requirement type %r (known: %s)' % (where, kind, ', '.join(REQUIREMENT_TYPES)))
    if kind in ('insecureAcceptAnything', 'reject'):
        if set(data) - set(['type']):
            raise ConfigError('%s: %s takes no other members' % (where, kind))
        return Requirement(kind, where=where)
    if kind == 'signedBaseLayer':
        raise ConfigError('%s: signedBaseLayer requirements are not supported by this collection (nor enforced by '
                          'containers/image); remove it or use signedBy / sigstoreSigned' % where)

    def path_of(value):
        if not isinstance(value, str) or not value:
            raise ConfigError('%s: a key path must be a non-empty string' % where)
        return value if os.path.isabs(value) or base_dir is None else os.path.join(base_dir, value)

    keys = []
    if kind == 'signedBy':
        allowed = ('type', 'keyType', 'keyPath', 'keyPaths', 'keyData', 'signedIdentity')
        if data.get('keyType') != 'GPGKeys':
            raise ConfigError('%s: signedBy keyType %r is not supported (use GPGKeys)' % (where, data.get('keyType')))
        given = [k for k in ('keyPath', 'keyPaths', 'keyData') if k in data]
        if len(given) != 1:
            raise ConfigError('%s: signedBy needs exactly one of keyPath, keyPaths, keyData' % where)
        if 'keyPath' in data:
            keys.append((path_of(data['keyPath']), _read_key(path_of(data['keyPath']), where)))
        elif 'keyPaths' in data:
            if not isinstance(data['keyPaths'], list) or not data['keyPaths']:
                raise ConfigError('%s: keyPaths must be a non-empty list' % where)
            for path in data['keyPaths']:
                keys.append((path_of(path), _read_key(path_of(path), where)))
        else:
            keys.append(('keyData', _key_data(data['keyData'], where)))
    else:
        allowed = ('type', 'keyPath', 'keyData', 'fulcio', 'rekorPublicKeyPath', 'rekorPublicKeyData', 'signedIdentity')
        if 'fulcio' in data:
            raise ConfigError('%s: sigstoreSigned with fulcio (keyless) is not supported by this collection; use keyPath '
                              'or keyData with a public key' % where)
        given = [k for k in ('keyPath', 'keyData') if k in data]
        if len(given) != 1:
            raise ConfigError('%s: sigstoreSigned needs exactly one of keyPath, keyData' % where)
        if 'keyPath' in data:
            keys.append((path_of(data['keyPath']), _read_key(path_of(data['keyPath']), where)))
        else:
            keys.append(('keyData', _key_data(data['keyData'], where)))
        if 'rekorPublicKeyPath' in data or 'rekorPublicKeyData' in data:
            raise ConfigError('%s: sigstoreSigned with a Rekor key is not supported by this collection' % where)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ConfigError('%s: %s does not take %s' % (where, kind, ', '.join(unknown)))
    return Requirement(kind, keys=keys, identity=_identity(data.get('signedIdentity'), where), where=where)


def _requirements(value, where, base_dir):
    if not isinstance(value, list) or not value:
        raise ConfigError('%s: must be a non-empty list of requirements' % where)
    return [parse_requirement(item, '%s[%d]' % (where, n), base_dir) for n, item in enumerate(value)]


class Policy(object):
    """A parsed policy: ``default`` requirements and ``docker`` scopes (other transports are parsed lazily: not used)."""

    def __init__(self, path, default, docker):
        self.path = path
        self.default = default
        self.docker = docker

    @classmethod
    def load(cls, path=None):
        path = os.path.expanduser(path) if path else default_path()
        try:
            with open(path, 'rb') as handle:
                raw = handle.read(documents.POLICY.max_bytes + 1)
        except (IOError, OSError) as exc:
            raise ConfigError('cannot read the signature policy %s: %s' % (path, getattr(exc, 'strerror', None) or exc), path=path)
        return cls.parse(raw, path)

    @classmethod
    def parse(cls, raw, path='policy.json'):
        data = documents.load_json(raw, 'the signature policy %s' % path, documents.POLICY, ConfigError, path=path)
        if not isinstance(data, dict):
            raise ConfigError('the signature policy %s must be a JSON object' % path, path=path)
        unknown = sorted(set(data) - set(['default', 'transports']))
        if unknown:
            raise ConfigError('the signature policy %s has unknown member(s) %s' % (path, ', '.join(unknown)), path=path)
        if 'default' not in data:
            raise ConfigError('the signature policy %s has no "default" requirements' % path, path=path)
        base_dir = os.path.dirname(os.path.abspath(path))
        default = _requirements(data['default'], '%s: default' % path, base_dir)
        transports = data.get('transports') or {}
        if not isinstance(transports, dict):
            raise ConfigError('%s: transports must be an object' % path, path=path)
        docker = {}
        for scope, reqs in (transports.get('docker') or {}).items():
            docker[scope] = _requirements(reqs, '%s: transports.docker["%s"]' % (path, scope), base_dir)
        for transport, scopes in transports.items():
            if not isinstance(scopes, dict):
                raise ConfigError('%s: transports.%s must be an object of scopes' % (path, transport), path=path)
        return cls(path, default, docker)

    def requirements_for(self, ref):
        """(scope, requirements) that apply to the registry image ``ref`` (a Reference)."""
        for scope in scopes_for(ref):
            if scope in self.docker:
                return scope, self.docker[scope]
        if '' in self.docker:
            return '', self.docker['']
        return 'default', self.default


def load_policy(path=None):
    """The Policy of ``path`` (must be readable), else of the default location when it exists; None without one.

    Here and not in verify.py: a policy that asks nothing of an image (insecureAcceptAnything, podman's default)
    must not cost a task the import of the verification code (gpg, sigstore, cryptography)."""
    if path:
        return Policy.load(path)
    default = default_path()
    return Policy.load(default) if os.path.isfile(default) else None


def requires_verification(policy, ref):
    """Whether ``policy`` asks more than insecureAcceptAnything of the registry image ``ref``."""
    if policy is None:
        return False
    dummy, requirements = policy.requirements_for(ref)
    return any(req.type != 'insecureAcceptAnything' for req in requirements)
