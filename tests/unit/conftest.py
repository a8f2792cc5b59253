# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make ``ansible_collections.podkit.containers`` importable when pytest runs in the staged tree
(ansible-test units does this itself; plain pytest does not)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_COLLECTIONS_ROOT = os.path.abspath(os.path.join(_HERE, '..', '..', '..', '..', '..'))
if os.path.isdir(os.path.join(_COLLECTIONS_ROOT, 'ansible_collections')) and _COLLECTIONS_ROOT not in sys.path:
    sys.path.insert(0, _COLLECTIONS_ROOT)
