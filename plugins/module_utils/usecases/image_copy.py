# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""image_copy's use case (internal; no stable API): the copy engine with the signing or signature-copying of
signatures.copying, from the module's options."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.podkit.containers.plugins.module_utils.copy.engine import copy_image
from ansible_collections.podkit.containers.plugins.module_utils.options import RegistryOptions
from ansible_collections.podkit.containers.plugins.module_utils.signatures.copying import CopySignatures


def run(params, run_binary, check_mode=False):
    """The image_copy task from the module's ``params``; ``run_binary`` (a binary run_command) runs gpg."""
    signatures = CopySignatures(run_command=run_binary, sign_by=params['sign_by'], passphrase_file=params['sign_passphrase_file'],
                                sigstore_key=params['sign_by_sigstore_private_key'], sign_identity=params['sign_identity'],
                                remove_signatures=params['remove_signatures'], registries_d=params['registries_d'],
                                gpg_home=params['gpg_home'])
    return copy_image(params['src'], params['dest'],
                      RegistryOptions.from_params(params, prefix='src_'), RegistryOptions.from_params(params, prefix='dest_'),
                      multi_arch=params['multi_arch'], platform=params['platform'], fmt=params['format'],
                      preserve_digests=params['preserve_digests'], parallel=params['parallel'], force=params['force'],
                      check_mode=check_mode, signatures=signatures)
