# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Signature payloads and identities (internal; no stable API).

Facts from containers-signature(5) and the containers/image sigstore signature format: a payload is JSON
``{"critical": {"type": T, "image": {"docker-manifest-digest": D}, "identity": {"docker-reference": R}},
"optional": {...}}`` where T is ``atomic container signature`` for simple (OpenPGP) signing and ``cosign
container image signature`` for sigstore. ``critical`` must hold exactly those three members; unknown members
there make the signature invalid, ``optional`` is informational (creator, timestamp).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.podkit.containers.plugins.module_utils import documents
from ansible_collections.podkit.containers.plugins.module_utils.errors import InvalidReferenceError
from ansible_collections.podkit.containers.plugins.module_utils.registry.manifest import is_digest
from ansible_collections.podkit.containers.plugins.module_utils.registry.reference import parse_reference

SIMPLE_TYPE = 'atomic container signature'
SIGSTORE_TYPE = 'cosign container image signature'
CREATOR = 'podkit.containers'


class PayloadError(ValueError):
    """A payload that is not a valid signature payload (the message says why; it never holds key material)."""


def build(kind, digest, reference, timestamp=None):
    """Payload bytes of ``kind`` (SIMPLE_TYPE or SIGSTORE_TYPE) for manifest ``digest`` and docker ``reference``."""
    data = {
        'critical': {
            'identity': {'docker-reference': reference},
            'image': {'docker-manifest-digest': digest},
            'type': kind,
        },
        'optional': {'creator': CREATOR, 'timestamp': int(time.time() if timestamp is None else timestamp)},
    }
    return json.dumps(data, sort_keys=True, separators=(',', ':')).encode('utf-8')


class Payload(object):
    """A parsed payload: ``kind``, ``digest``, ``identity`` (the docker-reference string), ``optional`` (dict)."""

    def __init__(self, kind, digest, identity, optional):
        self.kind = kind
        self.digest = digest
        self.identity = identity
        self.optional = optional


def parse(raw, kind):
    """Payload of ``raw`` bytes, which must be of ``kind``; PayloadError otherwise."""
    data = documents.load_json(raw, 'the signature payload', documents.SIGNATURE, PayloadError)
    if not isinstance(data, dict) or not isinstance(data.get('critical'), dict):
        raise PayloadError('the signature payload has no "critical" object')
    unknown = sorted(set(data) - set(['critical', 'optional']))
    if unknown:
        raise PayloadError('the signature payload has unknown top-level members: %s' % ', '.join(unknown))
    critical = data['critical']
    extra = sorted(set(critical) - set(['type', 'image', 'identity']))
    if extra:
        raise PayloadError('the signature payload has unknown "critical" members: %s' % ', '.join(extra))
    if critical.get('type') != kind:
        raise PayloadError('the signature payload is of type %r, expected %r' % (critical.get('type'), kind))
    image = critical.get('image')
    identity = critical.get('identity')
    if not isinstance(image, dict) or set(image) != set(['docker-manifest-digest']) or not is_digest(image['docker-manifest-digest']):
        raise PayloadError('the signature payload has no valid critical.image.docker-manifest-digest')
    if not isinstance(identity, dict) or set(identity) != set(['docker-reference']) or \
            not isinstance(identity['docker-reference'], str) or not identity['docker-reference']:
        raise PayloadError('the signature payload has no valid critical.identity.docker-reference')
    optional = data.get('optional', {})
    if not isinstance(optional, dict):
        raise PayloadError('the signature payload has an "optional" member that is not an object')
    return Payload(kind, image['docker-manifest-digest'], identity['docker-reference'], optional)


# -- identities (containers-policy.json(5), signedIdentity) -----------------------------------------------

def _ref(text):
    """A normalized Reference, or None when ``text`` is not a docker reference."""
    try:
        return parse_reference(text, default_tag=None)
    except InvalidReferenceError:
        return None


def _canonical(ref):
    """``name:tag`` or ``name@digest`` (a digest wins, as a digested reference names exactly that manifest)."""
    if ref.digest:
        return '%s@%s' % (ref.name, ref.digest)
    if ref.tag:
        return '%s:%s' % (ref.name, ref.tag)
    return ref.name


def _name_only(ref):
    return not ref.tag and not ref.digest


def identity_matches(rule, intended, signed):
    """Whether the signature's identity ``signed`` (string) is acceptable for the image ``intended`` (a Reference)
    under the signedIdentity ``rule`` (a dict already validated by policy parsing)."""
    signed_ref = _ref(signed)
    if signed_ref is None or intended is None:
        return False
    kind = rule.get('type', 'matchRepoDigestOrExact')
    if kind == 'matchExact':
        return not _name_only(intended) and not _name_only(signed_ref) and _canonical(intended) == _canonical(signed_ref)
    if kind == 'matchRepoDigestOrExact':
        return _repo_digest_or_exact(intended, signed_ref)
    if kind == 'matchRepository':
        return intended.name == signed_ref.name
    if kind == 'exactReference':
        wanted = _ref(rule['dockerReference'])
        return wanted is not None and not _name_only(signed_ref) and _canonical(wanted) == _canonical(signed_ref)
    if kind == 'exactRepository':
        wanted = _ref(rule['dockerRepository'])
        return wanted is not None and wanted.name == signed_ref.name
    if kind == 'remapIdentity':
        remapped = remap(intended, rule['prefix'], rule['signedPrefix'])
        return _repo_digest_or_exact(remapped if remapped is not None else intended, signed_ref)
    return False


def _repo_digest_or_exact(intended, signed_ref):
    if intended.digest:
        return intended.name == signed_ref.name
    if intended.tag:
        return not _name_only(signed_ref) and _canonical(intended) == _canonical(signed_ref)
    return False


def remap(intended, prefix, signed_prefix):
    """``intended`` with ``prefix`` replaced by ``signed_prefix`` when it matches at a name boundary, else None."""
    text = _canonical(intended)
    if not text.startswith(prefix):
        return None
    rest = text[len(prefix):]
    if rest and not prefix.endswith('/') and rest[0] not in '/:@' and prefix != intended.registry:
        return None
    if rest and prefix == intended.registry and rest[0] != '/':
        return None
    return _ref(signed_prefix + rest)
