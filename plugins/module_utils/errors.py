# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed errors of the podkit.containers core (internal; no stable API).

module_utils never imports AnsibleModule: the core raises these and the module
boundary (common.run_module) turns them into one fail_json(msg=..., **details).
A message names what is wrong and what to do about it, and never carries a secret.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class PodkitError(Exception):
    """Base of every error the core raises on purpose.

    ``details`` are extra keys for the task result (strings, numbers, lists): never
    a password, token or Authorization header.
    """

    def __init__(self, msg, **details):
        super(PodkitError, self).__init__(msg)
        self.msg = msg
        self.details = dict((k, v) for k, v in details.items() if v is not None)

    def __str__(self):
        return self.msg


class InvalidReferenceError(PodkitError):
    """An image reference or transport string that does not parse."""


class ConfigError(PodkitError):
    """A configuration file (registries.conf, policy.json, ...) or option combination that cannot be used."""


class CredentialsError(PodkitError):
    """An auth file that cannot be read or written, or a credential helper that failed."""


class RegistryError(PodkitError):
    """Anything a registry answered (or failed to answer) that stops the task."""

    def __init__(self, msg, registry=None, repository=None, status=None, **details):
        super(RegistryError, self).__init__(msg, registry=registry, repository=repository, status=status, **details)
        self.registry = registry
        self.repository = repository
        self.status = status


class RegistryUnreachableError(RegistryError):
    """Connection refused, DNS, timeout, TLS handshake failure."""


class TLSError(RegistryUnreachableError):
    """The TLS handshake failed: unknown CA, wrong host name, or https spoken to a plain-http registry."""


class AuthenticationError(RegistryError):
    """Credentials missing or rejected (401), or the token server failed."""


class CleartextRefusedError(AuthenticationError):
    """Credentials (a password or an identity token) not sent because they would travel over plain http: an
    ``http://`` token realm or redirect of a registry that is not itself a plain-http insecure registry."""


class CredentialsWithheldError(AuthenticationError):
    """A 401 from another origin (a redirect target) that never saw the credentials: they only go to the registry
    and its token realm. Not a rejection of the credentials."""


class AuthorizationError(RegistryError):
    """Credentials accepted but the action is denied (403)."""


class NotFoundError(RegistryError):
    """The repository, tag, manifest or blob does not exist (404)."""


class ManifestError(RegistryError):
    """A manifest that is too large, not JSON, not valid against its schema, or of an unknown type."""


class DigestMismatchError(RegistryError):
    """Content whose digest or size differs from what was announced."""


class TransferError(RegistryError):
    """A blob or manifest transfer that failed after its retries."""


class FileWriteError(PodkitError):
    """A file or directory that cannot be read, created, replaced or removed."""


class PodmanError(PodkitError):
    """A podman command that failed. ``cmd`` is the argv (never containing a secret), ``rc`` and ``stderr`` what it said."""

    def __init__(self, msg, cmd=None, rc=None, stderr=None, **details):
        super(PodmanError, self).__init__(msg, cmd=cmd, rc=rc, stderr=stderr, **details)
        self.cmd = cmd
        self.rc = rc
        self.stderr = stderr


class PodmanNotFoundError(PodmanError):
    """No podman executable on the target."""


class SystemdError(PodkitError):
    """systemctl failed, or no manager is reachable for the requested scope."""


class ImageStoreError(PodkitError):
    """A local image store (OCI layout, oci-archive, docker-archive, dir:) that cannot be read or written."""


class SignatureError(PodkitError):
    """An image whose signatures do not satisfy the signature policy (missing, invalid, other key or identity)."""


class SigningError(PodkitError):
    """Signing was requested and did not produce a signature (unknown key, wrong passphrase, unwritable store)."""
