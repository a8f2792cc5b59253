# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module boundary (internal; no stable API): shared argument specs and the one place that merges them
(module_kwargs), the check for third-party libraries, the run_command callables handed to the core, and the one place
where core results become exit_json (their warnings module.warn) and core errors fail_json.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.podkit.containers.plugins.module_utils.errors import PodkitError
from ansible_collections.podkit.containers.plugins.module_utils.options import RegistryOptions


# Options shared by every module that talks to a registry (doc fragment: podkit.containers.auth).
AUTH_ARGSPEC = dict(
    username=dict(type='str'),
    password=dict(type='str', no_log=True),
    auth_file=dict(type='path'),
    validate_certs=dict(type='bool', default=True, aliases=['tls_verify']),
    ca_cert=dict(type='path'),
    client_cert=dict(type='path'),
    client_key=dict(type='path', no_log=False),
    insecure=dict(type='bool', default=False),
    registries_conf=dict(type='path'),
    timeout=dict(type='float', default=30.0),
)


# The container spec of container_state and systemd_generate is not here: its argument spec comes from its table
# (lifecycle.spec.argument_spec(), handed on by their use cases), which only those two modules ship.


# The signature verification of a pull (doc fragment: podkit.containers.signatures): image_pull and container_state.
SIGNATURES_ARGSPEC = dict(
    signature_policy=dict(type='path'),
    registries_d=dict(type='path'),
)


# The shared option groups a module hands to module_kwargs(): (argument spec, required_together), so that no
# module repeats them. A group without constraints may be a plain argument spec (the container spec's table).
AUTH_OPTIONS = (AUTH_ARGSPEC, [('username', 'password'), ('client_cert', 'client_key')])
SIGNATURE_OPTIONS = (SIGNATURES_ARGSPEC, [])


def module_kwargs(options, groups=(), required_together=(), **constraints):
    """AnsibleModule's keyword arguments: the module's own ``options`` merged with the shared option ``groups``
    (AUTH_OPTIONS, ...), the groups' required_together followed by the module's own, its other constraints
    (``mutually_exclusive=[...]`` etc.) as given; check mode is supported. An option defined twice is a bug: ValueError.
    """
    spec = dict(options)
    together = []
    for group in groups:
        group, group_together = (group, ()) if isinstance(group, dict) else group
        twice = sorted(set(spec) & set(group))
        if twice:
            raise ValueError('options defined twice: %s' % ', '.join(twice))
        spec.update(group)
        together.extend(group_together)
    together.extend(required_together)
    return dict(argument_spec=spec, supports_check_mode=True, required_together=together or None, **constraints)


def command_runner(module, binary=False):
    """``run(argv, data=None, env=None) -> (rc, out, err)`` for the core: module.run_command that leaves the return
    code to the caller; ``binary`` keeps stdin/stdout as bytes (gpg, signatures)."""
    extra = dict(binary_data=True, encoding=None) if binary else {}

    def run(argv, data=None, env=None):
        return module.run_command(argv, data=data, environ_update=env, check_rc=False, **extra)
    return run


def registry_options(params, prefix=''):
    """RegistryOptions from module params; ``prefix`` selects one side (``src_``/``dest_``) of image_copy."""
    return RegistryOptions.from_params(params, prefix)


def require_registry_libs(module, jsonschema_needed=True):
    """Fail with the standard message when requests (or jsonschema) is not installed on the target.

    Only looked up, not imported: requests is imported where the first registry client is made (~50 ms, which
    image_pull spends while podman inspects), jsonschema only to explain a manifest that fails validation
    (registry/manifest.py). A requests that is installed but does not import fails there, with its ImportError.
    """
    for name, needed in (('requests', True), ('jsonschema', jsonschema_needed)):
        if needed and importlib.util.find_spec(name) is None:
            module.fail_json(msg=missing_required_lib(name), exception='No module named %s' % name)


def run_module(module, func, *args, **kwargs):
    """Call the core once and finish the task: a result dict becomes exit_json, a PodkitError fail_json.

    The core reports warnings (something it could not read, a deprecated option) as a ``warnings`` list in its result:
    each goes to module.warn, so Ansible shows it, and the key leaves the result.
    Anything else is a bug in this collection and is left to raise, so its traceback reaches the user.
    """
    try:
        result = func(*args, **kwargs)
    except PodkitError as err:
        module.fail_json(msg=err.msg, **err.details)
    for warning in result.pop('warnings', None) or ():
        module.warn(warning)
    module.exit_json(**result)
