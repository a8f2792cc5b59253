# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.options import RegistryOptions
from ansible_collections.podkit.containers.plugins.module_utils.registry.client import forget_known_schemes
from ansible_collections.podkit.containers.plugins.module_utils.usecases.image_info import inspect_image

from ansible_collections.podkit.containers.tests.unit.plugins.module_utils.registry.fake_registry import FakeRegistry, make_manifest


@pytest.fixture
def reg(tmp_path):
    forget_known_schemes()
    fake = FakeRegistry().start()
    yield fake
    fake.stop()
    forget_known_schemes()


def _options(tmp_path):
    conf = tmp_path / 'registries.conf'
    conf.write_text('unqualified-search-registries = []\n')
    return RegistryOptions(insecure=True, timeout=5.0, registries_conf=str(conf), auth_file=str(tmp_path / 'none.json'))


def test_forbidden_tag_list_is_a_warning_not_a_failure(reg, tmp_path):
    raw, blobs = make_manifest()
    digest = reg.add_image('a/b', 'v1', raw, blobs)
    reg.faults['deny_tags'] = True
    result = inspect_image('%s/a/b:v1' % reg.host, _options(tmp_path), platform='linux/amd64', registries_d=str(tmp_path / 'no-d'))
    assert result['digest'] == digest and result['repo_tags'] == []
    assert result['warnings'] == ['denied: access to the tag list of a/b in registry %s is forbidden (DENIED: not authorized to '
                                  'perform ecr:ListImages); repo_tags is empty (tags: false skips the listing)' % reg.host]


def test_readable_tag_list_gives_no_warning(reg, tmp_path):
    raw, blobs = make_manifest()
    reg.add_image('a/b', 'v1', raw, blobs)
    result = inspect_image('%s/a/b:v1' % reg.host, _options(tmp_path), platform='linux/amd64', registries_d=str(tmp_path / 'no-d'))
    assert result['repo_tags'] == ['v1'] and 'warnings' not in result
