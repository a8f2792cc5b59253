# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module boundary (internal; no stable API): shared argument specs, the check
for third-party libraries, and the one place where core errors become fail_json.
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
# (lifecycle.spec.argument_spec()), which only those two modules ship.


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
    """Call the core once and finish the task: a result dict becomes exit_json (its ``warnings`` go to module.warn),
    a PodkitError fail_json.

    Anything else is a bug in this collection and is left to raise, so its traceback reaches the user.
    """
    try:
        result = func(*args, **kwargs)
    except PodkitError as err:
        module.fail_json(msg=err.msg, **err.details)
    # The core reports what the user should know but that does not fail the task in ``warnings``.
    for warning in result.pop('warnings', None) or ():
        module.warn(warning)
    module.exit_json(**result)
