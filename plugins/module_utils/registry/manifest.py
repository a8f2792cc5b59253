# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manifests: media types, parsing with a size cap, schema validation, digests, platform choice (internal).

Signed schema 1 manifests: the registry's digest of a signed (``+prettyjws``) schema 1 manifest is the
sha256 of the JWS *payload*, i.e. the body without its ``signatures`` member. The payload is rebuilt from
the first signature's ``protected`` header (``formatLength`` bytes of the body followed by the base64url
``formatTail``), so a reference digest is verified exactly as the registry computed it. When the protected
header is absent or unusable the raw body digest is used.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import platform as _platform
import re

from ansible_collections.podkit.containers.plugins.module_utils import documents
from ansible_collections.podkit.containers.plugins.module_utils.errors import (
    ConfigError,
    DigestMismatchError,
    ManifestError,
    NotFoundError,
    PodkitError,
)


def _load_schemas():
    """The _schemas module, imported on first validation: a HEAD (image_pull's no-op) never validates, and
    AnsiballZ compiles every imported module_util from source on every task (no .pyc in its zip)."""
    from ansible_collections.podkit.containers.plugins.module_utils.registry import _schemas as schemas
    return schemas


def _jsonschema():
    """The jsonschema package, or None. Imported on first validation, not with this file: it costs ~0.1 s of CPU
    per task, and container_state (which imports this through lifecycle.pull) never validates a manifest."""
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - depends on the target
        return None
    return jsonschema


MAX_MANIFEST_SIZE = documents.MANIFEST.max_bytes
MAX_CONFIG_SIZE = documents.CONFIG.max_bytes

OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
OCI_EMPTY = 'application/vnd.oci.empty.v1+json'
OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar'
OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip'
OCI_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd'
OCI_LAYER_NONDIST_TAR = 'application/vnd.oci.image.layer.nondistributable.v1.tar'
OCI_LAYER_NONDIST_GZIP = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip'
OCI_LAYER_NONDIST_ZSTD = 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd'

DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'
DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json'
DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip'
# An uncompressed Docker layer: what docker-archive (docker save) layers are; registries rarely hold them.
DOCKER_LAYER_TAR = 'application/vnd.docker.image.rootfs.diff.tar'
DOCKER_FOREIGN_LAYER = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip'
DOCKER_FOREIGN_LAYER_TAR = 'application/vnd.docker.image.rootfs.foreign.diff.tar'
DOCKER_PLUGIN_CONFIG = 'application/vnd.docker.plugin.v1+json'
DOCKER_SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+json'
DOCKER_SCHEMA1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws'

# The order containers/image requests manifests in.
ACCEPT_ALL = [
    OCI_MANIFEST,
    DOCKER_MANIFEST,
    DOCKER_SCHEMA1_SIGNED,
    DOCKER_SCHEMA1,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
]

INDEX_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST)
IMAGE_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
SCHEMA1_TYPES = (DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED)
# Config media types of container images; any other config (or an ``artifactType``) makes the manifest an artifact.
IMAGE_CONFIG_TYPES = (OCI_CONFIG, DOCKER_CONFIG)
LAYER_TYPES = (OCI_LAYER_TAR, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, OCI_LAYER_NONDIST_TAR, OCI_LAYER_NONDIST_GZIP,
               OCI_LAYER_NONDIST_ZSTD, DOCKER_LAYER, DOCKER_LAYER_TAR, DOCKER_FOREIGN_LAYER, DOCKER_FOREIGN_LAYER_TAR)

# Content types that say nothing about the manifest kind: fall back to the document.
_GENERIC_TYPES = ('', 'application/json', 'text/plain', 'application/octet-stream', 'binary/octet-stream')

# The _schemas attribute validating each media type.
_SCHEMAS = {
    OCI_MANIFEST: 'OCI_MANIFEST',
    OCI_INDEX: 'OCI_INDEX',
    DOCKER_MANIFEST: 'DOCKER_MANIFEST',
    DOCKER_MANIFEST_LIST: 'DOCKER_MANIFEST_LIST',
    DOCKER_SCHEMA1: 'DOCKER_SCHEMA1',
    DOCKER_SCHEMA1_SIGNED: 'DOCKER_SCHEMA1',
}

_HASHES = {'sha256': hashlib.sha256, 'sha512': hashlib.sha512}


def digest_of(data, algorithm='sha256'):
    return '%s:%s' % (algorithm, _HASHES[algorithm](data).hexdigest())


def hasher_for(digest):
    """A fresh hash object for the algorithm of ``digest`` (sha256 or sha512)."""
    algorithm = digest.partition(':')[0] if isinstance(digest, str) else ''
    if algorithm not in _HASHES:
        raise ManifestError('unsupported digest algorithm in %r (sha256 and sha512 are supported)' % (digest,))
    return _HASHES[algorithm]()


def is_digest(value):
    if not isinstance(value, str):
        return False
    algorithm, sep, encoded = value.partition(':')
    return bool(sep) and algorithm in _HASHES and len(encoded) == _HASHES[algorithm]().digest_size * 2 and \
        all(c in '0123456789abcdef' for c in encoded)


def _normalize_content_type(content_type):
    if not content_type:
        return ''
    return content_type.split(';', 1)[0].strip().lower()


def _b64url_decode(text):
    text = text.strip()
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


def schema1_payload(raw, data):
    """The JWS payload of a signed schema 1 manifest (what its digest covers), or None when unsigned/unusable."""
    signatures = data.get('signatures') if isinstance(data, dict) else None
    if not signatures or not isinstance(signatures, list) or not isinstance(signatures[0], dict):
        return None
    try:
        protected = documents.load_json(_b64url_decode(signatures[0]['protected']), 'the protected header',
                                        documents.MANIFEST)
        length = int(protected['formatLength'])
        tail = _b64url_decode(protected['formatTail'])
    except (KeyError, TypeError, ValueError, PodkitError):
        return None
    if length < 0 or length > len(raw):
        return None
    return raw[:length] + tail


class Manifest(object):
    """A parsed manifest. ``raw`` are the exact bytes; ``digest`` is what the registry addresses it by."""

    def __init__(self, raw, media_type, data, digest):
        self.raw = raw
        self.media_type = media_type
        self.data = data
        self.digest = digest

    @property
    def size(self):
        return len(self.raw)

    @property
    def schema_version(self):
        return self.data.get('schemaVersion')

    @property
    def is_index(self):
        return self.media_type in INDEX_TYPES

    @property
    def is_schema1(self):
        return self.media_type in SCHEMA1_TYPES

    @property
    def descriptor(self):
        return {'mediaType': self.media_type, 'digest': self.digest, 'size': self.size}

    @property
    def artifact_type(self):
        """What a manifest that is not a container image holds (its ``artifactType``, else its config media type,
        e.g. a Helm chart's or a cosign signature's); None for an image, an index and schema 1."""
        if self.media_type not in IMAGE_TYPES:
            return None
        declared = self.data.get('artifactType')
        if isinstance(declared, str) and declared:
            return declared
        config_type = (self.data.get('config') or {}).get('mediaType')
        return None if config_type in IMAGE_CONFIG_TYPES or not config_type else config_type

    @property
    def config(self):
        """The config descriptor (None for indexes and schema 1)."""
        if self.is_index or self.is_schema1:
            return None
        return _descriptor(self.data.get('config') or {})

    @property
    def layers(self):
        """Layer descriptors, base layer first."""
        if self.is_index:
            return []
        if self.is_schema1:
            # fsLayers lists the top layer first; history[i] describes fsLayers[i].
            result = []
            for entry in reversed(self.data.get('fsLayers') or []):
                result.append({'digest': entry.get('blobSum'), 'size': None, 'mediaType': DOCKER_LAYER,
                               'urls': [], 'annotations': {}})
            return result
        return [_descriptor(layer) for layer in self.data.get('layers') or []]

    @property
    def manifests(self):
        """Index entries (descriptors with their ``platform`` dict, possibly empty)."""
        if not self.is_index:
            return []
        result = []
        for entry in self.data.get('manifests') or []:
            item = _descriptor(entry)
            item['platform'] = dict(entry.get('platform') or {})
            result.append(item)
        return result

    @property
    def schema1_history(self):
        """Schema 1 history entries (v1Compatibility decoded), base layer first; [] otherwise."""
        if not self.is_schema1:
            return []
        result = []
        for entry in reversed(self.data.get('history') or []):
            try:
                item = documents.load_json(entry.get('v1Compatibility') or '{}', 'v1Compatibility', documents.MANIFEST)
            except PodkitError:
                item = None
            result.append(item if isinstance(item, dict) else {})
        return result

    @property
    def platform(self):
        """os/architecture of a schema 1 manifest (from the top history entry), else None."""
        if not self.is_schema1:
            return None
        history = self.schema1_history
        top = history[-1] if history else {}
        return {'os': top.get('os', 'linux'), 'architecture': self.data.get('architecture') or top.get('architecture')}

    def __repr__(self):
        return 'Manifest(%s, %s, %d bytes)' % (self.media_type, self.digest, len(self.raw))


def _descriptor(entry):
    return {
        'digest': entry.get('digest'),
        'size': entry.get('size'),
        'mediaType': entry.get('mediaType'),
        'urls': list(entry.get('urls') or []),
        'annotations': dict(entry.get('annotations') or {}),
    }


def _json_path(path):
    out = '$'
    for part in path:
        if isinstance(part, int):
            out += '[%d]' % part
        else:
            out += '.' + str(part)
    return out


class _Unsure(Exception):
    """The fast check cannot decide: jsonschema does."""


# The draft-07 keywords the embedded schemas use, checked exactly as jsonschema's Draft7Validator checks them
# (``pattern`` and ``patternProperties`` with re.search; ``$ref`` ignores its siblings; formats unchecked).
_FAST_KEYWORDS = frozenset(('$schema', 'definitions', 'title', 'description', 'type', '$ref', 'properties',
                            'patternProperties', 'required', 'items', 'pattern', 'minimum', 'maximum', 'enum',
                            'allOf', 'oneOf'))
_DRAFT7 = ('http://json-schema.org/draft-07/schema#', 'http://json-schema.org/draft-07/schema')
_PATTERNS = {}


def _pattern(text):
    compiled = _PATTERNS.get(text)
    if compiled is None:
        compiled = _PATTERNS[text] = re.compile(text)
    return compiled


def _is_type(value, name):
    if name == 'object':
        return isinstance(value, dict)
    if name == 'array':
        return isinstance(value, list)
    if name == 'string':
        return isinstance(value, str)
    if name == 'null':
        return value is None
    if name == 'boolean':
        return isinstance(value, bool)
    if isinstance(value, float) or name not in ('integer', 'number'):
        raise _Unsure()  # 1.0 is an integer to jsonschema; leave such cases to it
    return isinstance(value, int) and not isinstance(value, bool)


def _conforms(value, schema, root):
    """True/False exactly as jsonschema would decide, or _Unsure."""
    if not isinstance(schema, dict) or not _FAST_KEYWORDS.issuperset(schema):
        raise _Unsure()
    ref = schema.get('$ref')
    if ref is not None:
        if not (isinstance(ref, str) and ref.startswith('#/definitions/')) or len(schema) > 1:
            raise _Unsure()
        target = (root.get('definitions') or {}).get(ref[len('#/definitions/'):])
        if target is None:
            raise _Unsure()
        return _conforms(value, target, root)
    kind = schema.get('type')
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(_is_type(value, k) for k in kinds):
            return False
    if isinstance(value, dict):
        required = schema.get('required')
        if required is not None and any(name not in value for name in required):
            return False
        properties = schema.get('properties') or {}
        for name, sub in properties.items():
            if name in value and not _conforms(value[name], sub, root):
                return False
        for text, sub in (schema.get('patternProperties') or {}).items():
            pattern = _pattern(text)
            for name, item in value.items():
                if pattern.search(name) and not _conforms(item, sub, root):
                    return False
    elif isinstance(value, list):
        items = schema.get('items')
        if items is not None:
            if not isinstance(items, dict):
                raise _Unsure()
            for item in value:
                if not _conforms(item, items, root):
                    return False
    elif isinstance(value, str):
        if 'pattern' in schema and not _pattern(schema['pattern']).search(value):
            return False
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and ('minimum' in schema or 'maximum' in schema):
            raise _Unsure()
        if 'minimum' in schema and value < schema['minimum']:
            return False
        if 'maximum' in schema and value > schema['maximum']:
            return False
    if 'enum' in schema:
        choices = schema['enum']
        if not all(isinstance(choice, str) for choice in choices):
            raise _Unsure()
        if not (isinstance(value, str) and value in choices):
            return False
    for sub in schema.get('allOf') or ():
        if not _conforms(value, sub, root):
            return False
    if 'oneOf' in schema:
        if sum(1 for sub in schema['oneOf'] if _conforms(value, sub, root)) != 1:
            return False
    return True


def conforms(data, schema):
    """True when ``data`` certainly matches ``schema``; False when jsonschema has to look (invalid, or undecided)."""
    if schema.get('$schema') not in _DRAFT7:
        return False
    try:
        return _conforms(data, schema, schema)
    except (_Unsure, RecursionError):
        return False


_VALIDATORS = {}


def _validator(jsonschema, schema):
    """The jsonschema validator of ``schema``, built once (building one costs more than validating a manifest)."""
    cached = _VALIDATORS.get(id(schema))
    if cached is None or cached[0] is not schema:
        cached = _VALIDATORS[id(schema)] = (schema, jsonschema.validators.validator_for(schema)(schema))
    return cached[1]


def validate(data, schema, what='manifest', registry=None, repository=None):
    """Validate ``data`` against one of the embedded schemas; ManifestError names the JSON path.

    A valid document passes a plain-Python check of the schema's keywords; only a document that fails it (or that
    it cannot judge) goes to jsonschema, which has the final word and the error message.
    """
    if conforms(data, schema):
        return
    jsonschema = _jsonschema()
    if jsonschema is None:  # pragma: no cover - checked by common.require_registry_libs
        return
    errors = list(_validator(jsonschema, schema).iter_errors(data))
    if not errors:
        return
    error = jsonschema.exceptions.best_match(errors)
    # Descend into allOf/oneOf to the innermost, most specific failure.
    while error.context:
        error = jsonschema.exceptions.best_match(error.context)
    raise ManifestError('%s does not match its schema at %s: %s' % (what, _json_path(error.absolute_path), _trim(error.message)),
                        registry=registry, repository=repository, json_path=_json_path(error.absolute_path))


def _trim(text, limit=200):
    return text if len(text) <= limit else text[:limit] + '...'


def _guess_media_type(data):
    version = data.get('schemaVersion')
    if version == 1:
        return DOCKER_SCHEMA1_SIGNED if data.get('signatures') else DOCKER_SCHEMA1
    if 'manifests' in data:
        return OCI_INDEX
    if 'config' in data or 'layers' in data:
        return OCI_MANIFEST
    return None


def parse_manifest(raw, content_type=None, expected_digest=None, registry=None, repository=None, what='manifest'):
    """Parse and validate manifest bytes; verify ``expected_digest`` when given. Returns a :class:`Manifest`."""
    if not isinstance(raw, bytes):
        raw = bytes(raw)
    kw = dict(registry=registry, repository=repository)
    data = documents.load_json(raw, what, documents.MANIFEST, ManifestError, **kw)
    if not isinstance(data, dict):
        raise ManifestError('%s is not a JSON object' % what, **kw)

    # Both come from the registry: escaped, so that a CR/LF in them cannot split the message.
    header_type = documents.one_line(_normalize_content_type(content_type))
    body_type = documents.one_line(data['mediaType']) if isinstance(data.get('mediaType'), str) else None
    if header_type in _GENERIC_TYPES:
        header_type = ''
    media_type = header_type or body_type or _guess_media_type(data)
    if header_type and body_type and header_type != body_type:
        both_schema1 = header_type in SCHEMA1_TYPES and body_type in SCHEMA1_TYPES
        if not both_schema1:
            raise ManifestError('%s is served as %s but declares mediaType %s' % (what, header_type, body_type), **kw)
    if header_type in SCHEMA1_TYPES:
        media_type = DOCKER_SCHEMA1_SIGNED if data.get('signatures') else DOCKER_SCHEMA1
    if media_type not in _SCHEMAS:
        raise ManifestError('%s has an unsupported media type %s' % (what, media_type or '(none)'), **kw)
    validate(data, getattr(_load_schemas(), _SCHEMAS[media_type]), what=what, **kw)

    algorithm = 'sha256'
    if expected_digest:
        algorithm = expected_digest.partition(':')[0]
        if algorithm not in _HASHES:
            raise ManifestError('unsupported digest algorithm in %s' % expected_digest, **kw)
    body = raw
    if media_type in SCHEMA1_TYPES:
        body = schema1_payload(raw, data) or raw
    digest = digest_of(body, algorithm)
    if expected_digest and digest != expected_digest:
        raise DigestMismatchError('%s has digest %s, expected %s' % (what, digest, expected_digest),
                                  expected=expected_digest, actual=digest, **kw)
    if algorithm != 'sha256':
        digest = digest_of(body)
    return Manifest(raw, media_type, data, digest)


def parse_config(raw, expected_digest=None, registry=None, repository=None, what='image config'):
    """Parse and validate an image config blob (OCI or Docker); returns the dict."""
    kw = dict(registry=registry, repository=repository)
    if len(raw) > MAX_CONFIG_SIZE:
        raise ManifestError('%s is larger than 8 MiB (%d bytes); refusing to parse it' % (what, len(raw)), **kw)
    if expected_digest:
        actual = digest_of(raw, expected_digest.partition(':')[0]) if expected_digest.partition(':')[0] in _HASHES else None
        if actual != expected_digest:
            raise DigestMismatchError('%s has digest %s, expected %s' % (what, actual, expected_digest),
                                      expected=expected_digest, actual=actual, **kw)
    data = documents.load_json(raw, what, documents.CONFIG, ManifestError, **kw)
    validate(data, _load_schemas().IMAGE_CONFIG, what=what, **kw)
    return data


# -- platforms -----------------------------------------------------------------------------------

# Variants a CPU of the key variant can run, best first (containers/image: newer arm runs older arm code).
_ARM_COMPAT = {
    'v8': ['v8', 'v7', 'v6', 'v5'],
    'v7': ['v7', 'v6', 'v5'],
    'v6': ['v6', 'v5'],
    'v5': ['v5'],
}
_ARM64_COMPAT = {
    'v9': ['v9', 'v8'],
    'v8': ['v8'],
}
_DEFAULT_VARIANT = {'arm64': 'v8', 'arm': 'v7'}

_MACHINE_TO_GO = {
    'x86_64': ('amd64', None),
    'amd64': ('amd64', None),
    'aarch64': ('arm64', 'v8'),
    'arm64': ('arm64', 'v8'),
    'armv8l': ('arm', 'v8'),
    'armv7l': ('arm', 'v7'),
    'armv7': ('arm', 'v7'),
    'armv6l': ('arm', 'v6'),
    'armv5tel': ('arm', 'v5'),
    'armv5l': ('arm', 'v5'),
    'ppc64le': ('ppc64le', None),
    'ppc64': ('ppc64', None),
    's390x': ('s390x', None),
    'i386': ('386', None),
    'i486': ('386', None),
    'i586': ('386', None),
    'i686': ('386', None),
    'x86': ('386', None),
    'riscv64': ('riscv64', None),
    'mips64': ('mips64', None),
    'loongarch64': ('loong64', None),
}


def normalize_platform(os_name, architecture, variant=None):
    """(os, GOARCH, variant) with the aliases containers/image accepts (x86_64, aarch64, armhf...)."""
    os_name = (os_name or 'linux').lower()
    architecture = (architecture or '').lower()
    variant = (variant or '').lower() or None
    aliases = {'x86_64': 'amd64', 'x86-64': 'amd64', 'aarch64': 'arm64', 'armhf': 'arm', 'armel': 'arm', 'i386': '386'}
    if architecture in aliases:
        if architecture == 'armel' and not variant:
            variant = 'v6'
        architecture = aliases[architecture]
    if architecture == 'arm64' and variant == '8':
        variant = 'v8'
    if architecture == 'arm' and variant in ('5', '6', '7', '8'):
        variant = 'v' + variant
    return os_name, architecture, variant


def platform_from_string(text):
    """``os/arch[/variant]`` -> dict(os=, architecture=, variant=)."""
    parts = (text or '').strip().split('/')
    if len(parts) < 2 or len(parts) > 3 or not all(parts):
        raise ValueError('platform %r is not os/arch[/variant]' % (text,))
    os_name, architecture, variant = normalize_platform(parts[0], parts[1], parts[2] if len(parts) == 3 else None)
    return {'os': os_name, 'architecture': architecture, 'variant': variant}


def platform_option(text):
    """The platform dict of a module's ``platform`` option (``os/arch[/variant]``), None when it is not given."""
    if not text:
        return None
    try:
        return platform_from_string(text)
    except ValueError as exc:
        raise ConfigError('%s; write it as os/arch[/variant], for example linux/arm64/v8' % exc, option='platform')


def local_platform():
    """The platform of this machine in OCI (GOOS/GOARCH) terms."""
    machine = (_platform.machine() or '').lower()
    architecture, variant = _MACHINE_TO_GO.get(machine, (machine, None))
    return {'os': (_platform.system() or 'linux').lower(), 'architecture': architecture, 'variant': variant}


def platform_string(entry):
    plat = entry.get('platform') if 'platform' in entry else entry
    text = '%s/%s' % (plat.get('os') or '?', plat.get('architecture') or '?')
    if plat.get('variant'):
        text += '/' + plat['variant']
    return text


def _wanted_variants(architecture, variant):
    """Acceptable variants, best first; None at the end stands for entries without a variant."""
    if architecture == 'arm':
        wanted = variant or _DEFAULT_VARIANT['arm']
        return _ARM_COMPAT.get(wanted, [wanted]) + [None]
    if architecture == 'arm64':
        wanted = variant or _DEFAULT_VARIANT['arm64']
        return _ARM64_COMPAT.get(wanted, [wanted]) + [None]
    if variant:
        return [variant, None]
    return [None]


def choose_platform(index_manifest, os, architecture, variant=None):  # pylint: disable=redefined-builtin
    """The index entry (descriptor with ``platform``) best matching os/architecture/variant.

    Exact variant first, then older compatible arm variants, then entries without a variant; an arm
    entry of another (newer) variant never matches. amd64 ignores variants: an exact variant match
    wins, else the first amd64 entry. Raises NotFoundError listing the platforms the index offers.
    """
    if isinstance(index_manifest, Manifest):
        entries = index_manifest.manifests
    else:
        entries = []
        for entry in (index_manifest or {}).get('manifests') or []:
            item = _descriptor(entry)
            item['platform'] = dict(entry.get('platform') or {})
            entries.append(item)
    want_os, want_arch, want_variant = normalize_platform(os, architecture, variant)
    candidates = []
    for entry in entries:
        plat = entry.get('platform') or {}
        e_os, e_arch, e_variant = normalize_platform(plat.get('os'), plat.get('architecture'), plat.get('variant'))
        if e_os != want_os or e_arch != want_arch:
            continue
        candidates.append((entry, e_variant))
    if want_arch == 'amd64':
        if candidates:
            exact = [c for c, v in candidates if want_variant and v == want_variant]
            return (exact or [candidates[0][0]])[0]
    else:
        for acceptable in _wanted_variants(want_arch, want_variant):
            for entry, e_variant in candidates:
                if e_variant == acceptable:
                    return entry
    wanted = '%s/%s' % (want_os, want_arch) + ('/' + want_variant if want_variant else '')
    available = sorted(set(platform_string(e) for e in entries))
    raise NotFoundError('no image for platform %s in the manifest list; available platforms: %s'
                        % (wanted, ', '.join(available) or 'none'), available_platforms=available)
