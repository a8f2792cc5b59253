# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""files: atomic writes and their mode."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.podkit.containers.plugins.module_utils import files


# ------------------------------------------------------------------ files

def test_ensure_file_atomic_and_mode(tmp_path):
    path = str(tmp_path / 'a' / 'b' / 'unit')
    res = files.ensure_file(path, u'x\n')
    assert res.changed and open(path).read() == 'x\n'
    assert os.stat(path).st_mode & 0o777 == 0o644
    assert sorted(os.listdir(str(tmp_path / 'a' / 'b'))) == ['unit']
    os.chmod(path, 0o600)
    assert files.ensure_file(path, u'x\n').changed
    assert not files.ensure_file(path, u'x\n').changed


def test_ensure_file_parent_is_a_file(tmp_path):
    (tmp_path / 'f').write_text(u'')
    with pytest.raises(files.FileWriteError) as exc:
        files.ensure_file(str(tmp_path / 'f' / 'd' / 'unit'), u'x')
    assert 'not a directory' in exc.value.msg
