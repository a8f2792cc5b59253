# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Shared registry options: plugins/module_utils/common.py AUTH_ARGSPEC.
    DOCUMENTATION = r'''
options:
  username:
    description:
      - User name for the registry.
      - When neither O(username) nor O(password) is given, credentials come from the auth file
        (see O(auth_file)), as M(podkit.containers.registry_login), C(podman login) and C(docker login) store them,
        including C(credHelpers) and C(credsStore).
      - Without any credentials the registry is accessed anonymously.
      - Credentials go only to the registry itself and to the token server (C(realm)) it announces, never to
        another host a redirect points at. They never travel over plain C(http) unless the registry is a plain-http
        registry marked insecure (O(insecure), registries.conf). An https registry that announces an C(http://)
        token server fails with a message naming it, before anything is sent.
    type: str
  password:
    description:
      - Password or token for O(username). Never logged, never put on a command line.
    type: str
  auth_file:
    description:
      - Path of a containers-auth.json(5) file to read credentials from.
      - Default search order, as podman and skopeo use it — E(REGISTRY_AUTH_FILE), then
        C(${XDG_RUNTIME_DIR}/containers/auth.json) (or C(/run/containers/$UID/auth.json)),
        C(~/.config/containers/auth.json), C(~/.docker/config.json).
    type: path
  validate_certs:
    description:
      - Verify the registry's TLS certificate.
      - Set to V(false) only for a registry you trust on a network you trust; prefer O(ca_cert).
    type: bool
    default: true
    aliases: [tls_verify]
  ca_cert:
    description:
      - Path of a PEM CA bundle used to verify the registry's certificate (for a private CA).
      - Checked before the first request; a path that does not exist or cannot be read fails the task.
    type: path
  client_cert:
    description:
      - Path of a PEM client certificate for registries that require mutual TLS. Use with O(client_key).
      - Checked before the first request, as O(client_key) is.
    type: path
  client_key:
    description:
      - Path of the PEM private key of O(client_cert).
    type: path
  insecure:
    description:
      - Allow plain C(http) (and unverified TLS) for this registry, like C(--tls-verify=false).
      - A registry marked C(insecure = true) in registries.conf is treated the same way.
      - Without it, a registry that only speaks http fails with a message saying so.
    type: bool
    default: false
  registries_conf:
    description:
      - Path of a containers-registries.conf(5) file to use instead of the default
        (E(CONTAINERS_REGISTRIES_CONF), C(~/.config/containers/registries.conf), C(/etc/containers/registries.conf)).
      - Used for short-name resolution, C(insecure) and C(blocked) registries, and mirrors.
    type: path
  timeout:
    description:
      - Seconds to wait for a registry to answer one request.
      - More than 0 and at most 86400 (a day).
    type: float
    default: 30
requirements:
  - requests
  - jsonschema
'''
