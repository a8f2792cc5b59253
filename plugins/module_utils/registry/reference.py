# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image references and transport strings (internal; no stable API).

The grammar is the one docker, podman and skopeo accept (distribution/reference):

    reference := name [ ":" tag ] [ "@" digest ]
    name      := [ domain "/" ] path-component [ "/" path-component ]*
    domain    := host [ ":" port ]     (host: DNS name, "localhost" or "[" IPv6 "]")

Normalization follows docker: the first component is a registry only when it holds a
"." or ":" or is "localhost"; otherwise the image lives on Docker Hub ("docker.io"),
where single-component names get the "library/" namespace.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.podkit.containers.plugins.module_utils.documents import one_line
from ansible_collections.podkit.containers.plugins.module_utils.errors import InvalidReferenceError

# The one Docker Hub table of the collection.
DOCKER_HUB = 'docker.io'
DOCKER_HUB_API_HOST = 'registry-1.docker.io'
# Names a reference may use for the Hub: docker and containers/image normalize both to docker.io.
_DOCKER_HUB_ALIASES = ('docker.io', 'index.docker.io')
# Every host name that is the Hub for logins, credentials and connections: the reference names plus its API host and
# the name old docker clients stored credentials under. A reference naming one of the last two is not normalized
# (docker keeps it as written), but it reaches the same registry with the same credentials.
DOCKER_HUB_HOSTS = _DOCKER_HUB_ALIASES + (DOCKER_HUB_API_HOST, 'registry.hub.docker.com')

# DNS limits (RFC 1035): what a URL library refuses later is refused here, with the reference in the message.
HOST_LENGTH_MAX = 253
HOST_LABEL_LENGTH_MAX = 63
PORT_MAX = 65535

NAME_TOTAL_LENGTH_MAX = 255
TAG_LENGTH_MAX = 128

_PATH_COMPONENT_RE = re.compile(r'^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*\Z')
_DOMAIN_COMPONENT = r'(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
_DOMAIN_RE = re.compile(
    r'^(?:' + _DOMAIN_COMPONENT + r'(?:\.' + _DOMAIN_COMPONENT + r')*'
    r'|\[[a-fA-F0-9:]+\])'
    r'(?::[0-9]+)?\Z')
_TAG_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.-]*\Z')
_DIGEST_ALGORITHM_RE = re.compile(r'^[a-z][a-z0-9]*(?:[-_+.][a-z][a-z0-9]*)*\Z')
_HEX_RE = re.compile(r'^[0-9a-fA-F]+\Z')
_LOWER_HEX_RE = re.compile(r'^[0-9a-f]+\Z')
_IDENTIFIER_RE = re.compile(r'^[a-f0-9]{64}\Z')
# Hex length of each digest algorithm the OCI image spec (and go-digest) supports.
DIGEST_HEX_LENGTHS = {'sha256': 64, 'sha384': 96, 'sha512': 128}

TRANSPORTS = ('docker', 'oci', 'oci-archive', 'docker-archive', 'dir')
# Transports containers/image knows but this collection cannot serve (they need local storage or daemons).
_UNSUPPORTED_TRANSPORTS = ('containers-storage', 'docker-daemon', 'ostree', 'sif', 'tarball')
_TRANSPORT_HINT = 'use one of docker://, oci:, oci-archive:, docker-archive:, dir:'


def _short(text, limit=40):
    """``text`` for a message: control characters escaped (a message is one line), cut at ``limit``."""
    text = one_line(text)
    return text if len(text) <= limit else text[:limit] + '...'


def _invalid(text, problem):
    return InvalidReferenceError("invalid image reference '%s': %s" % (_short(text, 300), problem), reference=_short(text, 300))


def validate_tag(tag, text=None):
    """Raise InvalidReferenceError unless ``tag`` is a valid tag; ``text`` is the input shown in the message."""
    text = tag if text is None else text
    if not tag:
        raise _invalid(text, 'tag is empty')
    if len(tag) > TAG_LENGTH_MAX:
        raise _invalid(text, "tag '%s' is longer than %d characters" % (_short(tag, 20), TAG_LENGTH_MAX))
    if not _TAG_RE.match(tag):
        raise _invalid(text, "tag '%s' is not valid: use ASCII letters, digits, '_', '.' and '-', not starting with '.' or '-'" % _short(tag))


def validate_digest(digest, text=None):
    """Raise InvalidReferenceError unless ``digest`` is ``algorithm:hex`` with a supported algorithm."""
    text = digest if text is None else text
    algorithm, sep, hexpart = digest.partition(':')
    if not sep or not algorithm or not hexpart:
        raise _invalid(text, "digest '%s' is not of the form algorithm:hex (e.g. sha256:<64 hex characters>)" % _short(digest, 80))
    if not _DIGEST_ALGORITHM_RE.match(algorithm):
        raise _invalid(text, "digest '%s' has an invalid algorithm '%s'" % (_short(digest, 80), _short(algorithm)))
    length = DIGEST_HEX_LENGTHS.get(algorithm)
    if length is None:
        raise _invalid(text, "digest '%s' uses the unsupported algorithm '%s' (use sha256, sha384 or sha512)"
                       % (_short(digest, 80), _short(algorithm)))
    if len(hexpart) != length or not _HEX_RE.match(hexpart):
        raise _invalid(text, "digest '%s' is not a valid %s digest (%d hex characters)" % (_short(digest, 80), algorithm, length))
    if not _LOWER_HEX_RE.match(hexpart):
        raise _invalid(text, "digest '%s' is not a valid %s digest (%d hex characters): the hex part must be lowercase"
                       % (_short(digest, 80), algorithm, length))


class _Value(object):
    """Equality and hashing by ``_key()``, for the immutable value classes below."""

    def _key(self):
        raise NotImplementedError

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self._key() == other._key()

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self):
        return hash(self._key())


class Reference(_Value):
    """A normalized docker reference: ``registry/repository[:tag][@digest]``."""

    __slots__ = ('registry', 'repository', 'tag', 'digest')

    def __init__(self, registry, repository, tag=None, digest=None):
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest

    @property
    def name(self):
        """``registry/repository`` without tag or digest."""
        return '%s/%s' % (self.registry, self.repository)

    @property
    def api_reference(self):
        """What goes into ``/v2/<repository>/manifests/<x>``: the digest when pinned, else the tag."""
        return self.digest if self.digest else self.tag

    @property
    def api_host(self):
        """The host (and port) to connect to for this registry."""
        return api_host(self.registry)

    def with_tag(self, tag):
        """A copy naming ``tag``; the digest is dropped, since it described the old tag's content."""
        if tag is not None:
            validate_tag(tag)
        return Reference(self.registry, self.repository, tag, None)

    def with_digest(self, digest):
        """A copy pinned to ``digest``; the tag is kept (``name:tag@digest`` reads like podman shows it)."""
        if digest is not None:
            validate_digest(digest)
        return Reference(self.registry, self.repository, self.tag, digest)

    def _key(self):
        return (self.registry, self.repository, self.tag, self.digest)

    def __str__(self):
        text = self.name
        if self.tag:
            text += ':' + self.tag
        if self.digest:
            text += '@' + self.digest
        return text

    def __repr__(self):
        return 'Reference(%r)' % str(self)


def _split_domain(name):
    """(domain or None, remainder) by docker's rule for the first path component."""
    first, sep, rest = name.partition('/')
    if sep and ('.' in first or ':' in first or first == 'localhost'):
        return first, rest
    return None, name


def _split_tag_digest(text):
    """(name, tag or None, digest or None) of a reference string, without validating."""
    name, sep, digest = text.partition('@')
    if not sep:
        digest = None
    tag = None
    colon = name.rfind(':')
    if colon > name.rfind('/'):
        name, tag = name[:colon], name[colon + 1:]
    return name, tag, digest


def strip_docker_prefix(text):
    """``text`` without a leading ``docker://`` transport."""
    if text.startswith('docker://'):
        return text[len('docker://'):]
    return text


def is_docker_hub(host):
    """True when ``host`` (a registry name or auth.json key host) is Docker Hub under any of its names."""
    return (host or '').strip().lower() in DOCKER_HUB_HOSTS


def _domain_problem(domain):
    """What is wrong with ``domain`` (``host[:port]``) as a registry, or None."""
    if not _DOMAIN_RE.match(domain):
        return "registry '%s' is not a valid host[:port]" % _short(domain)
    if domain.startswith('['):
        host, dummy, port = domain[1:].partition(']')
        port = port[1:]
    else:
        host, dummy, port = domain.partition(':')
        if len(host) > HOST_LENGTH_MAX:
            return "registry host '%s' is longer than %d characters" % (_short(host), HOST_LENGTH_MAX)
        for label in host.split('.'):
            if len(label) > HOST_LABEL_LENGTH_MAX:
                return "registry host '%s' has a label longer than %d characters" % (_short(host), HOST_LABEL_LENGTH_MAX)
    if port and (len(port) > len(str(PORT_MAX)) or not 1 <= int(port) <= PORT_MAX):
        return "registry '%s' has port %s; a port is 1-%d" % (_short(domain), _short(port, 20), PORT_MAX)
    return None


def validate_registry(domain, text=None):
    """Raise InvalidReferenceError unless ``domain`` is a usable ``host[:port]`` (DNS lengths, port range)."""
    problem = _domain_problem(domain or '')
    if problem:
        text = domain if text is None else text
        raise InvalidReferenceError("invalid registry '%s': %s" % (_short(text, 300), problem), registry=_short(text, 300))


def split_reference(text):
    """(name, tag or None, digest or None) of a reference string (``docker://`` dropped), without validating."""
    return _split_tag_digest(strip_docker_prefix((text or '').strip()))


def registry_of(text):
    """The normalized registry of a fully qualified reference string, or None for a short name (docker's rule)."""
    domain = _split_domain(split_reference(text)[0])[0]
    return normalize_registry(domain) if domain is not None else None


def normalize_registry(domain):
    """Lowercase ``host[:port]`` with the legacy Hub name folded into ``docker.io``."""
    domain = domain.lower()
    if domain in _DOCKER_HUB_ALIASES:
        return DOCKER_HUB
    return domain


def parse_reference(text, default_tag='latest'):
    """Parse a docker reference into a normalized Reference.

    ``default_tag`` is added when the input has neither tag nor digest (pass None to keep the
    tag None). A ``docker://`` prefix is accepted. Raises InvalidReferenceError naming the part
    that is wrong.
    """
    if text is None or not str(text).strip():
        raise InvalidReferenceError('image reference is empty')
    original = str(text).strip()
    body = strip_docker_prefix(original)
    if not body:
        raise InvalidReferenceError("image reference is empty after the transport prefix in '%s'" % _short(original, 300))
    if any(c.isspace() for c in body):
        raise _invalid(original, 'it contains whitespace')

    name, tag, digest = _split_tag_digest(body)
    if digest is not None:
        if '@' in digest:
            raise _invalid(original, "it contains more than one '@'")
        validate_digest(digest, original)
    if tag is not None:
        validate_tag(tag, original)
    if not name:
        raise _invalid(original, 'repository name is empty')

    domain, path = _split_domain(name)
    if domain is not None:
        problem = _domain_problem(domain)
        if problem:
            raise _invalid(original, problem)
        registry = normalize_registry(domain)
    else:
        registry = DOCKER_HUB
    if not path:
        raise _invalid(original, 'repository name is empty')
    for component in path.split('/'):
        if not component:
            raise _invalid(original, "repository name '%s' has an empty path component" % _short(path, 80))
        if not _PATH_COMPONENT_RE.match(component):
            if _PATH_COMPONENT_RE.match(component.lower()):
                raise _invalid(original, 'repository name must be lowercase')
            raise _invalid(original, "repository path component '%s' is not valid: use lowercase letters and digits, "
                                     "separated by '.', '_', '__' or '-'" % _short(component))
    if domain is None and _IDENTIFIER_RE.match(path):
        raise _invalid(original, 'a 64-character hexadecimal string is an image ID, not a repository name')
    if registry == DOCKER_HUB and '/' not in path:
        path = 'library/' + path
    full_name = '%s/%s' % (registry, path)
    if len(full_name) > NAME_TOTAL_LENGTH_MAX:
        raise _invalid(original, 'repository name is longer than %d characters' % NAME_TOTAL_LENGTH_MAX)
    if tag is None and digest is None and default_tag:
        tag = default_tag
    return Reference(registry, path, tag, digest)


def is_short_name(text):
    """True if ``text`` names no registry, so registries.conf search/aliases decide where it comes from."""
    body = strip_docker_prefix(str(text).strip())
    name = _split_tag_digest(body)[0]
    return _split_domain(name)[0] is None


def api_host(registry):
    """The host to connect to: Docker Hub's API lives on ``registry-1.docker.io``."""
    if normalize_registry(registry) == DOCKER_HUB:
        return DOCKER_HUB_API_HOST
    return registry


class ImageLocation(_Value):
    """Where an image lives: a transport and its transport-specific fields.

    docker: ``reference``; oci / oci-archive: ``path`` and ``image_ref`` (or None);
    docker-archive: ``path`` and ``reference`` (Reference or None) or ``source_index``; dir: ``path``.
    """

    __slots__ = ('transport', 'reference', 'path', 'image_ref', 'source_index')

    def __init__(self, transport, reference=None, path=None, image_ref=None, source_index=None):
        self.transport = transport
        self.reference = reference
        self.path = path
        self.image_ref = image_ref
        self.source_index = source_index

    @property
    def is_registry(self):
        return self.transport == 'docker'

    def _key(self):
        return (self.transport, self.reference, self.path, self.image_ref, self.source_index)

    def __str__(self):
        if self.transport == 'docker':
            return 'docker://%s' % (self.reference,)
        text = '%s:%s' % (self.transport, self.path)
        if self.transport in ('oci', 'oci-archive') and self.image_ref:
            text += ':' + self.image_ref
        elif self.transport == 'docker-archive':
            if self.reference is not None:
                text += ':%s' % (self.reference,)
            elif self.source_index is not None:
                text += ':@%d' % self.source_index
        return text

    def __repr__(self):
        return 'ImageLocation(%r)' % str(self)


def _split_path(original, transport, rest):
    """containers/image splits ``path[:extra]`` at the first ':' (paths cannot contain one)."""
    path, sep, extra = rest.partition(':')
    if not path:
        raise _invalid(original, '%s: needs a path' % transport)
    return path, (extra if sep else None)


def parse_image_location(text, default_tag='latest'):
    """Parse ``[transport:]details`` into an ImageLocation; no known transport prefix means docker."""
    if text is None or not str(text).strip():
        raise InvalidReferenceError('image reference is empty')
    original = str(text).strip()
    if original.startswith('docker://'):
        return ImageLocation('docker', reference=parse_reference(original, default_tag=default_tag))
    transport, sep, rest = original.partition(':')
    if sep and transport in TRANSPORTS and transport != 'docker':
        if transport == 'dir':
            if not rest:
                raise _invalid(original, 'dir: needs a path')
            return ImageLocation('dir', path=rest)
        path, extra = _split_path(original, transport, rest)
        if transport in ('oci', 'oci-archive'):
            if extra is not None and not extra:
                raise _invalid(original, '%s: the image name after the path is empty' % transport)
            return ImageLocation(transport, path=path, image_ref=extra)
        # docker-archive
        if extra is None:
            return ImageLocation(transport, path=path)
        if extra.startswith('@'):
            try:
                index = int(extra[1:])
            except ValueError:
                index = -1
            if index < 0:
                raise _invalid(original, "docker-archive: source index '%s' is not a non-negative number" % _short(extra))
            return ImageLocation(transport, path=path, source_index=index)
        ref = parse_reference(extra, default_tag=default_tag)
        if ref.digest:
            raise _invalid(original, 'docker-archive: the image name must not contain a digest')
        return ImageLocation(transport, path=path, reference=ref)
    if sep and transport in _UNSUPPORTED_TRANSPORTS:
        raise InvalidReferenceError("transport '%s' is not supported by this collection; %s" % (transport, _TRANSPORT_HINT),
                                    reference=_short(original, 300))
    try:
        return ImageLocation('docker', reference=parse_reference(original, default_tag=default_tag))
    except InvalidReferenceError:
        # "foo:bar" parses as an image foo with tag bar; only a string that is not a reference, whose first ':'
        # does not start a registry port and whose rest is not a (bad) tag looks like a misspelt transport: for
        # "a:<129 characters>" the tag is what is wrong.
        if sep and re.match(r'^[a-z][a-z0-9_-]*\Z', transport) and not re.match(r'^[0-9]+(?:/|$)', rest) \
                and not re.match(r'^[A-Za-z0-9_.-]+\Z', rest):
            raise InvalidReferenceError("unknown transport '%s'; %s" % (_short(transport), _TRANSPORT_HINT),
                                        reference=_short(original, 300))
        raise
