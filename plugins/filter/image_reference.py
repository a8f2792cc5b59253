# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The image_reference filter: the collection's one reference parser (module_utils/registry/reference.py) for roles
and playbooks, so that no template takes a reference apart with string operations of its own."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.podkit.containers.plugins.module_utils.errors import InvalidReferenceError
from ansible_collections.podkit.containers.plugins.module_utils.registry.reference import (
    is_short_name,
    parse_reference,
)


def image_reference(value, default_tag='latest'):
    """The parts of the image reference ``value`` (normalized as docker and podman normalize it)."""
    if not isinstance(value, str):
        raise AnsibleFilterError('image_reference: expected an image reference string, got %s' % type(value).__name__)
    try:
        ref = parse_reference(value, default_tag=default_tag or None)
    except InvalidReferenceError as err:
        raise AnsibleFilterError('image_reference: %s' % err.msg)
    text = str(ref)
    return {
        'registry': ref.registry,
        'repository': ref.repository,
        'tag': ref.tag,
        'digest': ref.digest,
        'name': ref.name,
        'reference': text,
        'path': text[len(ref.registry) + 1:],
        'short_name': is_short_name(value),
    }


class FilterModule(object):
    def filters(self):
        return {'image_reference': image_reference}
