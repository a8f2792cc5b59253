# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.errors import InvalidReferenceError
from ansible_collections.podkit.containers.plugins.module_utils.registry.reference import (
    ImageLocation,
    Reference,
    api_host,
    is_short_name,
    parse_image_location,
    parse_reference,
    registry_of,
    strip_docker_prefix,
)

SHA256 = 'sha256:' + 'a' * 64
SHA512 = 'sha512:' + 'b' * 128


@pytest.mark.parametrize('text, registry, repository, tag, digest', [
    ('nginx', 'docker.io', 'library/nginx', 'latest', None),
    ('nginx:1.25', 'docker.io', 'library/nginx', '1.25', None),
    ('docker.io/nginx', 'docker.io', 'library/nginx', 'latest', None),
    ('docker.io/library/nginx:stable', 'docker.io', 'library/nginx', 'stable', None),
    ('index.docker.io/library/nginx', 'docker.io', 'library/nginx', 'latest', None),
    ('library/nginx', 'docker.io', 'library/nginx', 'latest', None),
    ('bitnami/redis:7', 'docker.io', 'bitnami/redis', '7', None),
    ('docker://nginx', 'docker.io', 'library/nginx', 'latest', None),
    ('docker://quay.io/podman/stable:v5', 'quay.io', 'podman/stable', 'v5', None),
    ('quay.io/a/b/c/d', 'quay.io', 'a/b/c/d', 'latest', None),
    ('Quay.IO/a/b', 'quay.io', 'a/b', 'latest', None),
    ('localhost/a', 'localhost', 'a', 'latest', None),
    ('localhost:5000/a/b:1', 'localhost:5000', 'a/b', '1', None),
    ('localhost:5000/a/b:1@' + SHA256, 'localhost:5000', 'a/b', '1', SHA256),
    ('localhost:5000/a/b@' + SHA256, 'localhost:5000', 'a/b', None, SHA256),
    ('nginx@' + SHA256, 'docker.io', 'library/nginx', None, SHA256),
    ('ghcr.io/o/r@' + SHA512, 'ghcr.io', 'o/r', None, SHA512),
    ('[::1]:5000/x', '[::1]:5000', 'x', 'latest', None),
    ('[2001:db8::1]/ns/x:t', '[2001:db8::1]', 'ns/x', 't', None),
    ('127.0.0.1:5000/x', '127.0.0.1:5000', 'x', 'latest', None),
    ('registry:5000/x', 'registry:5000', 'x', 'latest', None),
    ('my-registry.example.com/ns/img_1.2__x-y--z', 'my-registry.example.com', 'ns/img_1.2__x-y--z', 'latest', None),
    ('localhost:5000', 'docker.io', 'library/localhost', '5000', None),
    ('x:' + 'a' * 128, 'docker.io', 'library/x', 'a' * 128, None),
    ('x:_Tag.1-2', 'docker.io', 'library/x', '_Tag.1-2', None),
    ('  nginx  ', 'docker.io', 'library/nginx', 'latest', None),
])
def test_parse_valid(text, registry, repository, tag, digest):
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)


@pytest.mark.parametrize('text, fragment', [
    ('', 'image reference is empty'),
    ('   ', 'image reference is empty'),
    (None, 'image reference is empty'),
    ('docker://', 'empty'),
    ('Foo/bar', "invalid image reference 'Foo/bar': repository name must be lowercase"),
    ('quay.io/Foo/bar', 'repository name must be lowercase'),
    ('NGINX', 'repository name must be lowercase'),
    ('x:' + 'a' * 129, "tag 'aaaaaaaaaaaaaaaaaaaa...' is longer than 128 characters"),
    ('x:.tag', "tag '.tag' is not valid"),
    ('x:-tag', "tag '-tag' is not valid"),
    ('x:t\u00e9', 'is not valid'),
    ('x:', 'tag is empty'),
    ('foo@sha256:abc', "digest 'sha256:abc' is not a valid sha256 digest (64 hex characters)"),
    ('foo@sha256:' + 'A' * 64, 'must be lowercase'),
    ('foo@sha256:' + 'g' * 64, 'not a valid sha256 digest'),
    ('foo@sha512:' + 'a' * 64, 'not a valid sha512 digest (128 hex characters)'),
    ('foo@md5:' + 'a' * 32, "unsupported algorithm 'md5'"),
    ('foo@' + 'a' * 64, 'not of the form algorithm:hex'),
    ('foo@', 'not of the form algorithm:hex'),
    ('foo@' + SHA256 + '@' + SHA256, "more than one '@'"),
    ('a//b', 'empty path component'),
    ('a/', 'empty path component'),
    ('/a', 'empty path component'),
    ('quay.io/', 'repository name is empty'),
    (':tag', 'repository name is empty'),
    ('a-/b', "repository path component 'a-' is not valid"),
    ('a..b', "repository path component 'a..b' is not valid"),
    ('a___b', 'is not valid'),
    ('-a', 'is not valid'),
    ('exa_mple.com/x', "registry 'exa_mple.com' is not a valid host[:port]"),
    ('example.com:port/x', 'is not a valid host[:port]'),
    ('-bad.com/x', 'is not a valid host[:port]'),
    ('[zz::1]/x', 'is not a valid host[:port]'),
    ('quay.io/a b', 'whitespace'),
    ('a' * 64, 'image ID'),
    ('quay.io/' + 'a' * 250, 'longer than 255 characters'),
    ('x/' + 'a' * 245, 'longer than 255 characters'),  # docker.io/ is part of the length
])
def test_parse_invalid(text, fragment):
    with pytest.raises(InvalidReferenceError) as info:
        parse_reference(text)
    assert fragment in info.value.msg


def test_error_shows_input():
    with pytest.raises(InvalidReferenceError) as info:
        parse_reference('quay.io/Bad/name:1')
    assert "'quay.io/Bad/name:1'" in info.value.msg


def test_name_length_limit_is_inclusive():
    repo = 'a' * (255 - len('quay.io/'))
    assert parse_reference('quay.io/' + repo).repository == repo


def test_default_tag():
    assert parse_reference('nginx', default_tag=None).tag is None
    assert parse_reference('nginx', default_tag='stable').tag == 'stable'
    assert parse_reference('nginx:1', default_tag=None).tag == '1'
    assert parse_reference('nginx@' + SHA256).tag is None


def test_reference_api():
    ref = parse_reference('localhost:5000/a/b:1@' + SHA256)
    assert ref.name == 'localhost:5000/a/b'
    assert str(ref) == 'localhost:5000/a/b:1@' + SHA256
    assert ref.api_reference == SHA256
    assert ref.api_host == 'localhost:5000'
    untagged = parse_reference('nginx')
    assert str(untagged) == 'docker.io/library/nginx:latest'
    assert untagged.api_reference == 'latest'
    assert untagged.api_host == 'registry-1.docker.io'
    assert str(Reference('quay.io', 'a/b')) == 'quay.io/a/b'
    assert repr(untagged) == "Reference('docker.io/library/nginx:latest')"


def test_with_tag_and_digest():
    ref = parse_reference('quay.io/a/b:1')
    pinned = ref.with_digest(SHA256)
    assert str(pinned) == 'quay.io/a/b:1@' + SHA256
    assert pinned.api_reference == SHA256
    retagged = pinned.with_tag('2')
    assert str(retagged) == 'quay.io/a/b:2'
    assert retagged.api_reference == '2'
    assert str(ref) == 'quay.io/a/b:1'  # immutable in practice: copies, not changes
    with pytest.raises(InvalidReferenceError):
        ref.with_tag('-bad')
    with pytest.raises(InvalidReferenceError):
        ref.with_digest('sha256:abc')


def test_equality_and_hash():
    a = parse_reference('nginx')
    b = parse_reference('docker.io/library/nginx:latest')
    c = parse_reference('nginx:1')
    assert a == b and hash(a) == hash(b)
    assert a != c
    assert len(set([a, b, c])) == 2
    assert a != 'docker.io/library/nginx:latest'


@pytest.mark.parametrize('text, expected', [
    ('nginx', True),
    ('nginx:1', True),
    ('library/nginx', True),
    ('nginx@' + SHA256, True),
    ('Foo/bar', True),
    ('localhost:5000', True),
    ('docker.io/nginx', False),
    ('quay.io/a/b', False),
    ('localhost/a', False),
    ('localhost:5000/a', False),
    ('registry:5000/a', False),
    ('[::1]:5000/x', False),
    ('docker://quay.io/a', False),
    ('docker://nginx', True),
])
def test_is_short_name(text, expected):
    assert is_short_name(text) is expected


@pytest.mark.parametrize('registry, expected', [
    ('docker.io', 'registry-1.docker.io'),
    ('index.docker.io', 'registry-1.docker.io'),
    ('quay.io', 'quay.io'),
    ('localhost:5000', 'localhost:5000'),
])
def test_api_host(registry, expected):
    assert api_host(registry) == expected


@pytest.mark.parametrize('text, transport, fields', [
    ('nginx', 'docker', dict(reference='docker.io/library/nginx:latest')),
    ('docker://nginx:1', 'docker', dict(reference='docker.io/library/nginx:1')),
    ('localhost:5000/x', 'docker', dict(reference='localhost:5000/x:latest')),
    ('localhost:5000/x:1', 'docker', dict(reference='localhost:5000/x:1')),
    ('foo:bar', 'docker', dict(reference='docker.io/library/foo:bar')),
    ('docker:24', 'docker', dict(reference='docker.io/library/docker:24')),
    ('oci:/tmp/layout', 'oci', dict(path='/tmp/layout', image_ref=None)),
    ('oci:/tmp/layout:v1', 'oci', dict(path='/tmp/layout', image_ref='v1')),
    ('oci:rel/dir:quay.io/a/b:1', 'oci', dict(path='rel/dir', image_ref='quay.io/a/b:1')),
    ('oci-archive:/tmp/a.tar', 'oci-archive', dict(path='/tmp/a.tar', image_ref=None)),
    ('oci-archive:/tmp/a.tar:latest', 'oci-archive', dict(path='/tmp/a.tar', image_ref='latest')),
    ('docker-archive:/tmp/a.tar', 'docker-archive', dict(path='/tmp/a.tar', reference=None, source_index=None)),
    ('docker-archive:/tmp/a.tar:foo:1', 'docker-archive', dict(path='/tmp/a.tar', reference='docker.io/library/foo:1')),
    ('docker-archive:/tmp/a.tar:quay.io/a/b', 'docker-archive', dict(path='/tmp/a.tar', reference='quay.io/a/b:latest')),
    ('docker-archive:/tmp/a.tar:@2', 'docker-archive', dict(path='/tmp/a.tar', reference=None, source_index=2)),
    ('dir:/tmp/some:dir', 'dir', dict(path='/tmp/some:dir')),
])
def test_parse_image_location(text, transport, fields):
    loc = parse_image_location(text)
    assert loc.transport == transport
    for name, value in fields.items():
        actual = getattr(loc, name)
        assert (str(actual) if isinstance(actual, Reference) else actual) == value
    assert loc.is_registry is (transport == 'docker')
    # str() gives a transport string that parses back to the same location
    assert parse_image_location(str(loc)) == loc


@pytest.mark.parametrize('text, fragment', [
    ('foo:/bar', "unknown transport 'foo'; use one of docker://, oci:, oci-archive:, docker-archive:, dir:"),
    ('ftp://x/y', "unknown transport 'ftp'"),
    ('containers-storage:nginx', "transport 'containers-storage' is not supported"),
    ('docker-daemon:nginx:1', "transport 'docker-daemon' is not supported"),
    ('Foo:bar', 'repository name must be lowercase'),
    ('localhost:5000/X', 'repository name must be lowercase'),
    ('oci:', 'needs a path'),
    ('oci:/tmp/x:', 'image name after the path is empty'),
    ('dir:', 'needs a path'),
    ('docker-archive:/a.tar:@x', 'source index'),
    ('docker-archive:/a.tar:x@' + SHA256, 'must not contain a digest'),
    ('docker-archive:/a.tar:BAD', 'must be lowercase'),
    ('', 'image reference is empty'),
    # a name with a tag over 128 characters is a bad tag, not a misspelt transport
    ('a:' + 'x' * 129, 'tag'),
    ('registry.example/a:' + 'v' * 129, 'tag'),
])
def test_parse_image_location_invalid(text, fragment):
    with pytest.raises(InvalidReferenceError) as info:
        parse_image_location(text)
    assert fragment in info.value.msg
    assert 'unknown transport' not in info.value.msg or text.startswith(('foo:', 'ftp:'))


def test_image_location_equality():
    assert parse_image_location('oci:/x:1') == ImageLocation('oci', path='/x', image_ref='1')
    assert parse_image_location('oci:/x:1') != parse_image_location('oci:/x:2')
    assert hash(parse_image_location('dir:/x')) == hash(ImageLocation('dir', path='/x'))


@pytest.mark.parametrize('text, fragment', [
    ('r.example:65536/app', "registry 'r.example:65536' has port 65536; a port is 1-65535"),
    ('r.example:0/app', 'has port 0; a port is 1-65535'),
    ('r.example:' + '9' * 5000 + '/app', 'a port is 1-65535'),
    ('[::1]:70000/app', "registry '[::1]:70000' has port 70000"),
    ('%s.example/app' % ('h' * 64), 'has a label longer than 63 characters'),
    ('%s/app' % '.'.join(['h' * 60] * 5), 'is longer than 253 characters'),
])
def test_registry_limits_are_refused_by_the_parser(text, fragment):
    with pytest.raises(InvalidReferenceError) as info:
        parse_reference(text)
    assert fragment in info.value.msg and '\n' not in info.value.msg


@pytest.mark.parametrize('text', ['r.example:65535/app', 'r.example:1/app', '%s.example/app' % ('h' * 63), '[::1]:5000/app'])
def test_registry_limits_accept_the_edges(text):
    assert parse_reference(text).repository == 'app'


@pytest.mark.parametrize('host, hub', [('docker.io', True), ('Index.Docker.IO', True), ('registry-1.docker.io', True),
                                       ('registry.hub.docker.com', True), ('quay.io', False), ('docker.io.evil', False)])
def test_one_docker_hub_table(host, hub):
    from ansible_collections.podkit.containers.plugins.module_utils.registry.reference import is_docker_hub
    assert is_docker_hub(host) is hub


@pytest.mark.parametrize('image, registry', [
    ('registry.example.com/app:1', 'registry.example.com'), ('localhost:5000/a', 'localhost:5000'),
    ('localhost/a:1', 'localhost'), ('library/busybox', None), ('busybox', None), ('Quay.IO/a/b@sha256:x', 'quay.io'),
    ('index.docker.io/a/b', 'docker.io'), ('docker://r.example:5000/a', 'r.example:5000'), ('localhost:5000', None),
])
def test_registry_of(image, registry):
    assert registry_of(image) == registry


def test_strip_docker_prefix():
    assert strip_docker_prefix('docker://r.example/a:1') == 'r.example/a:1'
    assert strip_docker_prefix('r.example/docker://a') == 'r.example/docker://a'
