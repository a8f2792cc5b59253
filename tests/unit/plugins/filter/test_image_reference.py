# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.podkit.containers.plugins.filter.image_reference import FilterModule, image_reference

SHA = 'sha256:' + 'c' * 64


@pytest.mark.parametrize('text, registry, repository, path, short', [
    ('busybox', 'docker.io', 'library/busybox', 'library/busybox:latest', True),
    ('docker://busybox:1.36', 'docker.io', 'library/busybox', 'library/busybox:1.36', True),
    ('myorg/app:1', 'docker.io', 'myorg/app', 'myorg/app:1', True),
    ('index.docker.io/library/nginx', 'docker.io', 'library/nginx', 'library/nginx:latest', False),
    ('Quay.io/team/app@' + SHA, 'quay.io', 'team/app', 'team/app@' + SHA, False),
    ('localhost:5000/a/b:2@' + SHA, 'localhost:5000', 'a/b', 'a/b:2@' + SHA, False),
    ('localhost/a', 'localhost', 'a', 'a:latest', False),
])
def test_parts(text, registry, repository, path, short):
    parts = image_reference(text)
    assert (parts['registry'], parts['repository'], parts['path'], parts['short_name']) == (registry, repository, path, short)
    assert parts['name'] == '%s/%s' % (registry, repository)
    assert parts['reference'] == '%s/%s' % (registry, path)


def test_default_tag():
    assert image_reference('busybox', default_tag='')['tag'] is None
    assert image_reference('busybox', default_tag='stable')['tag'] == 'stable'


@pytest.mark.parametrize('text, fragment', [
    ('Busybox', 'must be lowercase'),
    ('r.example:70000/a', 'has port 70000; a port is 1-65535'),
    ('%s.example/a' % ('h' * 64), 'has a label longer than 63 characters'),
    ('a:b:c', "repository path component 'a:b' is not valid"),
    (5, 'expected an image reference string'),
])
def test_invalid_references_fail_with_the_parsers_message(text, fragment):
    with pytest.raises(AnsibleFilterError) as info:
        image_reference(text)
    assert fragment in str(info.value)


def test_registered():
    assert FilterModule().filters()['image_reference'] is image_reference
