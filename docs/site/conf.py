# -*- coding: utf-8 -*-
# Sphinx configuration of the module reference site built by scripts/docs.sh (`make docs`) from the RST that
# antsibull-docs generates out of the collection's own DOCUMENTATION/EXAMPLES/RETURN. Offline: intersphinx reads a
# local inventory (docs/site/offline_inventory.py writes it, scripts/docs.sh passes its path in PODKIT_DOCS_INVENTORY)
# instead of downloading docs.ansible.com's.
from __future__ import absolute_import, division, print_function

import os

__metaclass__ = type

project = 'podkit.containers'
copyright = 'podkit.containers contributors'  # pylint: disable=redefined-builtin
title = 'podkit.containers module reference'
html_short_title = 'podkit.containers'

extensions = ['sphinx.ext.intersphinx', 'sphinx_antsibull_ext']

intersphinx_mapping = {
    'ansible_devel': ('https://docs.ansible.com/projects/ansible/latest/', os.environ['PODKIT_DOCS_INVENTORY']),
}
intersphinx_disabled_reftypes = []

pygments_style = 'ansible'
highlight_language = 'YAML+Jinja'

html_theme = 'sphinx_ansible_theme'
html_show_sphinx = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False

default_role = 'any'
nitpicky = True
