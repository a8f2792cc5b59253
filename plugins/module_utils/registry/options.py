# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How to reach one registry: credentials and TLS choices (internal; no stable API).

Built once from the shared module options (common.registry_options) and handed to the
registry client, so the protocol core never sees module parameters.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class RegistryOptions(object):
    """Credentials and transport settings for one side of a registry operation.

    ``insecure`` allows plain http (and unverified TLS) for the registry; it is also
    switched on by ``insecure = true`` for the registry in registries.conf.
    ``password`` never appears in repr().
    """

    __slots__ = ('username', 'password', 'auth_file', 'validate_certs', 'ca_cert', 'client_cert',
                 'client_key', 'insecure', 'registries_conf', 'timeout', 'retries')

    def __init__(self, username=None, password=None, auth_file=None, validate_certs=True, ca_cert=None,
                 client_cert=None, client_key=None, insecure=False, registries_conf=None, timeout=30.0,
                 retries=3):
        self.username = username
        self.password = password
        self.auth_file = auth_file
        self.validate_certs = validate_certs
        self.ca_cert = ca_cert
        self.client_cert = client_cert
        self.client_key = client_key
        self.insecure = insecure
        self.registries_conf = registries_conf
        self.timeout = timeout
        self.retries = retries

    def copy(self, **changes):
        values = dict((name, getattr(self, name)) for name in self.__slots__)
        values.update(changes)
        return RegistryOptions(**values)

    def __repr__(self):
        shown = dict((name, getattr(self, name)) for name in self.__slots__ if name != 'password')
        shown['password'] = '********' if self.password else None
        return 'RegistryOptions(%r)' % (shown,)
