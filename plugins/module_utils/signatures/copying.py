# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""image_copy's signature step (internal; no stable API): carry signatures along, sign, store, in the right order.

The copy engine calls, when this object is given to it:
  prepare(...)  after the plan and the destination's digest are known: reads the source's signatures and the
                destination's, loads the signing key, decides whether signatures need writing (idempotency);
  sign()        after the destination is known writable, before any blob moves: makes the new signatures and
                checks the lookaside directory is writable, so a wrong passphrase or an unknown key stops the copy
                before anything is pushed;
  store()       after the blobs, before any manifest: writes the signatures, so a manifest is never pushed
                without the signature that was asked for;
  abort()       on failure after store(): removes the lookaside files it wrote.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError, InvalidReferenceError, SigningError
from ansible_collections.podkit.containers.plugins.module_utils.registry.reference import parse_reference
from ansible_collections.podkit.containers.plugins.module_utils.signatures import attachments as att
from ansible_collections.podkit.containers.plugins.module_utils.signatures import keys as sigkeys
from ansible_collections.podkit.containers.plugins.module_utils.signatures import private_keys
from ansible_collections.podkit.containers.plugins.module_utils.signatures import openpgp
from ansible_collections.podkit.containers.plugins.module_utils.signatures import payload as pl
from ansible_collections.podkit.containers.plugins.module_utils.signatures import registries_d as rd
from ansible_collections.podkit.containers.plugins.module_utils.signatures.gpg import GPG


def _fingerprint_matches(wanted, message):
    wanted = wanted.upper().replace(' ', '')
    if wanted.startswith('0X'):
        wanted = wanted[2:]
    for value in (message.get('fingerprint'), message.get('key_id')):
        if value and (value.endswith(wanted) or wanted.endswith(value)):
            return True
    return False


class CopySignatures(object):
    """Signature handling of one image_copy task (see the module docstring for the call order)."""

    def __init__(self, run_command=None, sign_by=None, passphrase_file=None, sigstore_key=None, sign_identity=None,
                 remove_signatures=False, registries_d=None, gpg_home=None):
        self.run_command = run_command
        self.sign_by = sign_by
        self.passphrase_file = passphrase_file
        self.sigstore_key_path = sigstore_key
        self.sign_identity = sign_identity
        self.remove_signatures = remove_signatures
        self.registries_d = registries_d
        self.gpg_home = gpg_home
        self.registries = None
        self.carry_simple = []
        self.carry_sigstore = []
        self.new_simple = []
        self.new_sigstore = []
        self.write_simple = False
        self.write_sigstore = False
        self.written_files = []
        self.digest = None
        self.identity = None
        self.dest_ref = None
        self.client = None
        self.sigstore_key = None
        self.stored = {'simple': 0, 'sigstore': 0}
        self._need_new = (False, False)

    @property
    def signing(self):
        return bool(self.sign_by or self.sigstore_key_path)

    def prepare(self, source, destination, plan, dest_location):
        """True when signatures need writing."""
        registry_dest = dest_location.transport == 'docker'
        if self.sign_by and self.sigstore_key_path:
            raise ConfigError('sign_by and sign_by_sigstore_private_key are mutually exclusive')
        if self.signing and not registry_dest:
            raise ConfigError('signing needs a registry destination (docker://); %s cannot hold signatures' % dest_location)
        if self.sign_identity and not self.signing:
            raise ConfigError('sign_identity needs sign_by or sign_by_sigstore_private_key')
        if self.sign_by and self.run_command is None:
            raise ConfigError('simple signing needs gpg')
        self.registries = rd.RegistriesD.load(self.registries_d)
        self.digest = plan.top_digest
        if registry_dest:
            self.dest_ref = dest_location.reference
            self.client = destination.client
        if not self.remove_signatures and source.client is not None:
            src_ref = source.location.reference
            src_digest = plan.source_top.digest
            web = rd.WebLookaside(getattr(source.client, 'options', None))
            self.carry_simple = rd.read_signatures(self.registries.lookaside_read(src_ref), src_ref, src_digest, http_get=web)
            if self.registries.use_sigstore_attachments(src_ref):
                self.carry_sigstore = att.read(source.client, src_ref.repository, src_digest)[0]
            if (self.carry_simple or self.carry_sigstore) and (src_digest != self.digest or not registry_dest):
                why = ('the copy changes the manifest digest from %s to %s, which they sign' % (src_digest, self.digest)
                       if registry_dest else '%s cannot hold signatures' % dest_location)
                raise ConfigError('the source %s has %d signature(s) that cannot be copied: %s; set remove_signatures: true to '
                                  'copy without them' % (src_ref, len(self.carry_simple) + len(self.carry_sigstore), why))
        if not registry_dest:
            return False
        if self.signing:
            identity = self.sign_identity or str(self.dest_ref)
            try:
                ref = parse_reference(identity, default_tag=None)
            except InvalidReferenceError as err:
                raise ConfigError('sign_identity: %s' % err.msg, option='sign_identity')
            if not ref.tag and not ref.digest:
                raise ConfigError('sign_identity %s must name a tag or a digest (a fully specified docker reference)' % identity,
                                  option='sign_identity')
            self.identity = str(ref) if not (ref.tag and ref.digest) else '%s:%s' % (ref.name, ref.tag)
        if self.sigstore_key_path:
            self.sigstore_key = private_keys.load_private_key(self.sigstore_key_path, private_keys.read_passphrase(self.passphrase_file))
        existing_simple = self._dest_simple() if (self.carry_simple or self.sign_by) else []
        existing_sigstore = []
        if self.carry_sigstore or self.sigstore_key_path:
            if not self.registries.use_sigstore_attachments(self.dest_ref):
                if self.sigstore_key_path:
                    raise ConfigError('sigstore signatures of %s would not be stored: set use-sigstore-attachments: true for it '
                                      'in registries.d (%s)' % (self.dest_ref.name, self.registries.directory))
            else:
                existing_sigstore = att.read(self.client, self.dest_ref.repository, self.digest)[0]
        self.carry_simple = [s for s in self.carry_simple if s not in existing_simple]
        have = set((a.payload, a.signature) for a in existing_sigstore)
        sigstore_here = self.registries.use_sigstore_attachments(self.dest_ref)
        self.carry_sigstore = [a for a in self.carry_sigstore if sigstore_here and (a.payload, a.signature) not in have]
        need_new_simple = bool(self.sign_by) and not any(self._is_ours_simple(raw) for raw in existing_simple)
        need_new_sigstore = bool(self.sigstore_key) and not any(self._is_ours_sigstore(a) for a in existing_sigstore)
        self.write_simple = bool(self.carry_simple) or need_new_simple
        self.write_sigstore = bool(self.carry_sigstore) or need_new_sigstore
        self._need_new = (need_new_simple, need_new_sigstore)
        return self.write_simple or self.write_sigstore

    def _dest_simple(self):
        base = self.registries.lookaside_write(self.dest_ref)
        try:
            return rd.read_signatures(base, self.dest_ref, self.digest)
        except ConfigError:
            return []

    def _is_ours_simple(self, raw):
        try:
            message = openpgp.read_signed_message(raw)
            parsed = pl.parse(message['payload'], pl.SIMPLE_TYPE)
        except (openpgp.OpenPGPError, pl.PayloadError):
            return False
        return parsed.digest == self.digest and parsed.identity == self.identity and _fingerprint_matches(self.sign_by, message)

    def _is_ours_sigstore(self, attachment):
        public = [self.sigstore_key.public_key()]
        if not sigkeys.verify(public, attachment.payload, attachment.signature):
            return False
        try:
            parsed = pl.parse(attachment.payload, pl.SIGSTORE_TYPE)
        except pl.PayloadError:
            return False
        return parsed.digest == self.digest and parsed.identity == self.identity

    def sign(self):
        """Make the new signatures and check where they go; SigningError/FileWriteError before anything is pushed."""
        need_simple, need_sigstore = self._need_new
        if self.write_simple:
            rd.check_writable(self.registries.lookaside_write(self.dest_ref), self.dest_ref, self.digest)
        if need_simple:
            gpg = GPG(self.run_command, home=self.gpg_home)
            payload = pl.build(pl.SIMPLE_TYPE, self.digest, self.identity)
            signature = gpg.sign(payload, self.sign_by, self.passphrase_file)
            # Never store what gpg produced without checking it says what was asked.
            try:
                message = openpgp.read_signed_message(signature)
            except openpgp.OpenPGPError as exc:
                raise SigningError('gpg produced no usable signature (%s); nothing was pushed' % exc)
            if message['payload'] != payload:
                raise SigningError('gpg produced a signature of other data; nothing was pushed')
            self.new_simple.append(signature)
        if need_sigstore:
            payload = pl.build(pl.SIGSTORE_TYPE, self.digest, self.identity)
            self.new_sigstore.append(att.Attachment(payload, private_keys.sign(self.sigstore_key, payload)))

    def store(self):
        if self.write_simple:
            base = self.registries.lookaside_write(self.dest_ref)
            files = rd.write_signatures(base, self.dest_ref, self.digest, self.carry_simple + self.new_simple)
            self.written_files.extend(files)
            self.stored['simple'] = len(files)
        if self.write_sigstore:
            self.stored['sigstore'] = att.write(self.client, self.dest_ref.repository, self.digest,
                                                self.carry_sigstore + self.new_sigstore)

    def abort(self):
        for path in self.written_files:
            try:
                os.unlink(path)
            except OSError:
                pass
        self.written_files = []

    def summary(self, check_mode=False):
        planned = {'simple': (len(self.carry_simple) + (1 if self._need_new[0] else 0)) if self.write_simple else 0,
                   'sigstore': (len(self.carry_sigstore) + (1 if self._need_new[1] else 0)) if self.write_sigstore else 0}
        out = {'digest': self.digest, 'identity': self.identity,
               'written': planned if check_mode else dict(self.stored),
               'removed': bool(self.remove_signatures)}
        if self.sign_by:
            out['sign_by'] = self.sign_by
        return out
