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

    @classmethod
    def from_params(cls, params, prefix=''):
        """From module params (the shared registry options); ``prefix`` (``src_``/``dest_``) picks one side of a
        copy, falling back to the unprefixed option."""
        def get(name, default=None):
            value = params.get(prefix + name)
            if value is None:
                value = params.get(name, default)
            return default if value is None else value

        return cls(
            username=get('username'),
            password=get('password'),
            auth_file=params.get('auth_file'),
            validate_certs=get('validate_certs', True),
            ca_cert=get('ca_cert'),
            client_cert=get('client_cert'),
            client_key=get('client_key'),
            insecure=get('insecure', False),
            registries_conf=params.get('registries_conf'),
            timeout=params.get('timeout') or 30.0,
            retries=params.get('retries') if params.get('retries') is not None else 3,
        )

    def copy(self, **changes):
        values = dict((name, getattr(self, name)) for name in self.__slots__)
        values.update(changes)
        return RegistryOptions(**values)

    def __repr__(self):
        shown = dict((name, getattr(self, name)) for name in self.__slots__ if name != 'password')
        shown['password'] = '********' if self.password else None
        return 'RegistryOptions(%r)' % (shown,)
