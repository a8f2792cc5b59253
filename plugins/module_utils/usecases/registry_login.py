# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""registry_login's core (internal; no stable API): verify credentials, then store or remove them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.podkit.containers.plugins.module_utils.errors import InvalidReferenceError
from ansible_collections.podkit.containers.plugins.module_utils.registry import credentials
from ansible_collections.podkit.containers.plugins.module_utils.registry.reference import (
    DOCKER_HUB, is_docker_hub, validate_registry,
)

# host[:port] or [v6]:port, then optional lowercase repository path components.
_KEY_RE = re.compile(r'^(?P<host>(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?)(?P<path>(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)$')


def normalize_registry_key(text):
    """The auth.json key for ``text``: scheme and trailing slash dropped, host lowercased."""
    key = (text or '').strip()
    for scheme in ('https://', 'http://'):
        if key.startswith(scheme):
            key = key[len(scheme):]
    key = key.rstrip('/')
    if key.endswith('/v1') or key.endswith('/v2'):
        key = key[:-3]
    match = _KEY_RE.match(key)
    if not key or not match:
        raise InvalidReferenceError(
            "invalid registry %r: expected host[:port] or host[:port]/namespace/repository (lowercase path)" % (text,))
    host = match.group('host').lower()
    validate_registry(host, text)
    if is_docker_hub(host):
        host = DOCKER_HUB
    return host + match.group('path')


def apply_login(registry, options, state='present', check_mode=False, client_factory=None):
    """Log in (``state=present``) or out (``absent``); returns the task result.

    Credentials are verified against the registry even in check mode and even when the same ones are
    stored already: a stored password that the registry now rejects is an error, not "ok".
    """
    key = normalize_registry_key(registry)
    host = key.split('/', 1)[0]
    path = credentials.default_auth_file(options.auth_file)
    auth_file = credentials.AuthFile(path)
    entry = auth_file.get_entry(key)  # a corrupt file raises here, before anything else happens
    logged_in = entry is not None
    old_user = entry[0] if entry else None

    result = dict(changed=False, registry=key, auth_file=path)
    before = dict(registry=key, auth_file=path, logged_in=logged_in, username=old_user)

    if state == 'absent':
        after = dict(before, logged_in=False, username=None)
        if logged_in:
            result['changed'] = True
            if not check_mode:
                auth_file.remove(key)
    else:
        if client_factory is None:
            from ansible_collections.podkit.containers.plugins.module_utils.registry.client import RegistryClient
            client_factory = RegistryClient
        client = client_factory(host, options)
        result['auth_scheme'] = client.verify_login(options.username, options.password)
        result['username'] = options.username
        same = not auth_file.would_set(key, options.username, options.password)
        after = dict(before, logged_in=True, username=options.username)
        if not same:
            result['changed'] = True
            # The diff may say that the password changes, never what it is.
            if logged_in and old_user == options.username:
                before['password'] = 'stored'
                after['password'] = 'replaced'
            if not check_mode:
                auth_file.set_credentials(key, options.username, options.password)

    result['diff'] = dict(before=before, after=after,
                          before_header='%s (%s)' % (path, key), after_header='%s (%s)' % (path, key))
    return result
