# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a Sphinx objects.inv for the few Ansible-docs labels the generated RST links to.

Intersphinx would download docs.ansible.com's inventory; this build must work offline, so the labels the
antsibull-docs output actually uses are listed here with their public URLs. A label neither here nor in the
collection stays unresolved and fails the build (-W), as a broken link should.

    python offline_inventory.py RST_DIR OUTPUT_FILE
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import sys
import zlib

BASE = 'https://docs.ansible.com/projects/ansible/latest/'
KNOWN = {
    'common_return_values': ('reference_appendices/common_return_values.html#common-return-values', 'Return Values'),
    'ansible_configuration_settings': ('reference_appendices/config.html#ansible-configuration-settings',
                                       'Ansible Configuration Settings'),
    'playbooks_module_defaults': ('playbook_guide/playbooks_module_defaults.html#module-defaults', 'Module defaults'),
    'module_defaults_groups': ('playbook_guide/playbooks_module_defaults.html#module-defaults-groups', 'Module defaults groups'),
}
BUILTIN = re.compile(r'^ansible_collections\.ansible\.builtin\.(\w+)_(module|plugin|lookup|filter|test)$')
REF = re.compile(r':ref:`(?:[^`<]*<)?([^`<>]+)>?`')


def labels(rst_dir):
    found = set()
    for root, _dirs, files in os.walk(rst_dir):
        for name in files:
            if name.endswith('.rst'):
                with open(os.path.join(root, name)) as f:
                    found.update(m.group(1).strip() for m in REF.finditer(f.read()))
    return found


def entries(found):
    for label in sorted(found):
        if label in KNOWN:
            uri, title = KNOWN[label]
            yield label, uri, title
            continue
        match = BUILTIN.match(label)
        if match:
            name, kind = match.groups()
            uri = 'collections/ansible/builtin/%s_%s.html#%s' % (name, kind, label.replace('.', '-').replace('_', '-'))
            yield label, uri, 'ansible.builtin.%s %s' % (name, kind)


def write(path, items):
    body = ''.join('%s std:label -1 %s %s\n' % (label, uri, title) for label, uri, title in items)
    header = ('# Sphinx inventory version 2\n# Project: Ansible\n# Version: latest\n'
              '# The remainder of this file is compressed using zlib.\n')
    with open(path, 'wb') as f:
        f.write(header.encode('utf-8') + zlib.compress(body.encode('utf-8')))


def main(argv):
    rst_dir, output = argv[1], argv[2]
    items = list(entries(labels(rst_dir)))
    write(output, items)
    print('%d Ansible docs labels in %s' % (len(items), output))


if __name__ == '__main__':
    main(sys.argv)
