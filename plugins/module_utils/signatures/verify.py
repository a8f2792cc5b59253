# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Signature verification and listing for registry images (internal; no stable API).

``verify_image`` applies containers-policy.json(5) the way containers/image does: every requirement of the
matching scope must hold; a signedBy / sigstoreSigned requirement holds when at least one signature of its kind
is by one of its keys, covers exactly the manifest digest that will be pulled and names an identity its
signedIdentity accepts. Signatures that fail are reported, never silently accepted.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError, ManifestError, RegistryError, SignatureError
from ansible_collections.podkit.containers.plugins.module_utils.signatures import attachments as att
from ansible_collections.podkit.containers.plugins.module_utils.signatures import keys as sigkeys
from ansible_collections.podkit.containers.plugins.module_utils.signatures import openpgp
from ansible_collections.podkit.containers.plugins.module_utils.signatures import payload as pl
from ansible_collections.podkit.containers.plugins.module_utils.signatures import registries_d as rd
from ansible_collections.podkit.containers.plugins.module_utils.signatures.gpg import GPG


class SignatureSource(object):
    """Reads (and caches) the signatures of one manifest digest of one registry image."""

    def __init__(self, ref, digest, client, registries, http_get=None):
        self.ref = ref
        self.digest = digest
        self.client = client
        self.registries = registries
        self.http_get = http_get
        self._simple = None
        self._sigstore = None

    @property
    def lookaside(self):
        return self.registries.lookaside_read(self.ref)

    def simple(self):
        if self._simple is None:
            self._simple = rd.read_signatures(self.lookaside, self.ref, self.digest, http_get=self.http_get)
        return self._simple

    @property
    def attachments_enabled(self):
        return self.registries.use_sigstore_attachments(self.ref)

    def sigstore(self):
        if self._sigstore is None:
            if not self.attachments_enabled:
                self._sigstore = []
            else:
                self._sigstore = att.read(self.client, self.ref.repository, self.digest)[0]
        return self._sigstore


def _check_payload(raw, kind, digest, intended, identity_rule):
    """None when acceptable, else the reason."""
    try:
        payload = pl.parse(raw, kind)
    except pl.PayloadError as exc:
        return str(exc)
    if payload.digest != digest:
        return 'it signs manifest %s, not %s' % (payload.digest, digest)
    if not pl.identity_matches(identity_rule, intended, payload.identity):
        return 'its identity %s is not accepted for %s (signedIdentity %s)' % (payload.identity, intended, identity_rule.get('type'))
    return None


def _signed_by(req, source, intended, gpg):
    signatures = source.simple()
    if not signatures:
        return None, ['no simple signature of %s in the lookaside %s' % (source.digest, source.lookaside)]
    reasons = []
    for index, raw in enumerate(signatures, 1):
        payload, signer = gpg.verify(raw, req.keys)
        if payload is None:
            reasons.append('signature-%d: %s' % (index, signer))
            continue
        problem = _check_payload(payload, pl.SIMPLE_TYPE, source.digest, intended, req.identity)
        if problem:
            reasons.append('signature-%d (key %s): %s' % (index, signer, problem))
            continue
        return {'type': 'simple', 'key': signer, 'identity': pl.parse(payload, pl.SIMPLE_TYPE).identity, 'digest': source.digest}, reasons
    return None, reasons


def _sigstore_signed(req, source, intended):
    public = []
    for where, data in req.keys:
        public.extend(sigkeys.load_public_keys(data, '%s (%s)' % (req.where, where)))
    if not source.attachments_enabled:
        return None, ['sigstore signatures are not read for %s: set use-sigstore-attachments: true for it in registries.d (%s)'
                      % (source.ref.name, source.registries.directory)]
    signatures = source.sigstore()
    if not signatures:
        return None, ['no sigstore signature of %s (tag %s)' % (source.digest, att.tag_for(source.digest))]
    reasons = []
    for index, attachment in enumerate(signatures, 1):
        if not sigkeys.verify(public, attachment.payload, attachment.signature):
            reasons.append('sigstore signature %d: not made by the policy key' % index)
            continue
        problem = _check_payload(attachment.payload, pl.SIGSTORE_TYPE, source.digest, intended, req.identity)
        if problem:
            reasons.append('sigstore signature %d: %s' % (index, problem))
            continue
        identity = pl.parse(attachment.payload, pl.SIGSTORE_TYPE).identity
        return {'type': 'sigstore', 'key': None, 'identity': identity, 'digest': source.digest}, reasons
    return None, reasons


def verify_image(intended, digest, client, policy, registries, run_command, http_get=None, gpg_executable='gpg'):
    """The accepted signatures (list of dicts) when ``digest`` of ``intended`` (a Reference, the name the user asked
    for) satisfies ``policy``; SignatureError otherwise. ``client`` reads the registry of ``intended``."""
    scope, requirements = policy.requirements_for(intended)
    source = SignatureSource(intended.with_digest(None) if intended.tag else intended, digest, client, registries, http_get)
    gpg = GPG(run_command, executable=gpg_executable)
    accepted = []
    for req in requirements:
        if req.type == 'insecureAcceptAnything':
            continue
        if req.type == 'reject':
            raise SignatureError('the signature policy %s rejects %s (scope %s: reject)' % (policy.path, intended, scope or '""'),
                                 policy=policy.path, scope=scope)
        try:
            if req.type == 'signedBy':
                found, reasons = _signed_by(req, source, intended, gpg)
            else:
                found, reasons = _sigstore_signed(req, source, intended)
        except ManifestError as err:
            raise SignatureError('cannot read the signatures of %s@%s: %s' % (intended.name, digest, err.msg), policy=policy.path)
        if found is None:
            raise SignatureError('%s@%s is not signed as the signature policy %s requires (scope %s: %s): %s'
                                 % (intended.name, digest, policy.path, scope or '""', req.type, '; '.join(reasons)),
                                 policy=policy.path, scope=scope, digest=digest)
        accepted.append(found)
    return accepted


def list_signatures(ref, digest, client, registries, http_get=None):
    """What image_info reports: every signature found for ``digest`` (not verified: no keys are involved)."""
    out = []
    try:
        simple = rd.read_signatures(registries.lookaside_read(ref), ref, digest, http_get=http_get)
    except ConfigError:
        simple = []
    except RegistryError as err:
        # An unreachable web lookaside (or one answering 5xx) is reported, not mistaken for "no signatures".
        out.append({'type': 'simple', 'index': 1, 'digest': None, 'identity': None, 'key_id': None, 'fingerprint': None,
                    'error': err.msg})
        simple = []
    for index, raw in enumerate(simple, 1):
        entry = {'type': 'simple', 'index': index, 'digest': None, 'identity': None, 'key_id': None, 'fingerprint': None}
        try:
            message = openpgp.read_signed_message(raw)
            entry.update(key_id=message['key_id'], fingerprint=message['fingerprint'])
            parsed = pl.parse(message['payload'], pl.SIMPLE_TYPE)
            entry.update(digest=parsed.digest, identity=parsed.identity)
        except (openpgp.OpenPGPError, pl.PayloadError) as exc:
            entry['error'] = str(exc)
        out.append(entry)
    if registries.use_sigstore_attachments(ref):
        try:
            found = att.read(client, ref.repository, digest)[0]
        except ManifestError as err:
            out.append({'type': 'sigstore', 'index': 1, 'error': err.msg})
            found = []
        for index, attachment in enumerate(found, 1):
            entry = {'type': 'sigstore', 'index': index, 'digest': None, 'identity': None, 'key_id': None, 'fingerprint': None}
            try:
                parsed = pl.parse(attachment.payload, pl.SIGSTORE_TYPE)
                entry.update(digest=parsed.digest, identity=parsed.identity)
            except pl.PayloadError as exc:
                entry['error'] = str(exc)
            out.append(entry)
    return out
