# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Modules that support check mode, diff mode and are idempotent.
    DOCUMENTATION = r'''
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return a changed status prediction without modifying the target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
    support: full
  idempotent:
    description: When run twice in a row with the same arguments, the second run reports no change.
    support: full
'''

    ACTIONGROUP_REGISTRY = r'''
options: {}
attributes:
  action_group:
    description: >-
      Use C(group/podkit.containers.registry) in C(module_defaults) to set defaults for this module; every member
      of the group accepts the registry options (the C(podkit.containers.auth) documentation fragment).
    support: full
    membership:
      - podkit.containers.registry
'''

    ACTIONGROUP_PODMAN = r'''
options: {}
attributes:
  action_group:
    description: >-
      Use C(group/podkit.containers.podman) in C(module_defaults) to set defaults for this module; every member
      of the group accepts the registry options (the C(podkit.containers.auth) documentation fragment).
    support: full
    membership:
      - podkit.containers.podman
'''

    ACTIONGROUP_REGISTRY_PODMAN = r'''
options: {}
attributes:
  action_group:
    description: >-
      Use C(group/podkit.containers.registry) or C(group/podkit.containers.podman) in C(module_defaults)
      to set defaults for this module; every member of either group accepts the registry options
      (the C(podkit.containers.auth) documentation fragment).
    support: full
    membership:
      - podkit.containers.registry
      - podkit.containers.podman
'''
