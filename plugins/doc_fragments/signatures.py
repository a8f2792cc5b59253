# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Signature verification before a pull: image_pull and container_state (lifecycle/pull.py verify_signatures).
    DOCUMENTATION = r'''
options:
  signature_policy:
    description:
      - Path of a containers-policy.json(5) file whose requirements for the image are checked before anything is pulled.
        Default C(~/.config/containers/policy.json) when it exists, else C(/etc/containers/policy.json) (when it exists).
      - C(signedBy) (GPG keys; simple signatures from the lookaside registries.d names, checked with the C(gpg) binary)
        and C(sigstoreSigned) (public key; signatures from sigstore attachments where registries.d sets
        C(use-sigstore-attachments)) are verified against the registry's current digest for the name, with the
        policy's C(signedIdentity) (default C(matchRepoDigestOrExact)); C(reject) refuses the image. A missing or
        non-matching signature fails the task with a message naming what was wrong, and nothing is pulled.
      - When signatures were verified, podman pulls C(name@digest) (the verified digest, so nothing else can arrive)
        and the image is tagged with the name afterwards. podman still applies the system policy itself.
      - Verification happens in check mode too, when a pull would happen.
    type: path
  registries_d:
    description:
      - Directory of containers-registries.d(5) files saying where signatures are (C(lookaside),
        C(use-sigstore-attachments)). Default C(~/.config/containers/registries.d) when it exists, else
        C(/etc/containers/registries.d).
      - A C(lookaside) may be a C(file://) directory or an C(http://)/C(https://) URL; from a web lookaside
        C(signature-1), C(signature-2), ... are fetched until the first 404, with the TLS choices of the registry side
        (O(validate_certs); O(ca_cert) when the system trust does not verify the lookaside host). O(insecure), registry
        credentials and client certificates do not apply to it.
    type: path
'''
