# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How to reach one registry: credentials and TLS choices (internal; no stable API).

Built once from the shared module options (common.registry_options) and handed to the
registry client, so the protocol core never sees module parameters.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError

# Seconds per request (module option timeout).
MAX_TIMEOUT = 24 * 3600


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
            timeout=params.get('timeout') if params.get('timeout') is not None else 30.0,
            retries=params.get('retries') if params.get('retries') is not None else 3,
        )

    def validate(self):
        """ConfigError for settings no request can succeed with, before the first one is made: TLS files that are
        missing or unreadable, a timeout that is not a positive number of seconds."""
        for name in ('ca_cert', 'client_cert', 'client_key'):
            path = getattr(self, name)
            if path is None:
                continue
            if not isinstance(path, str) or not path:
                raise ConfigError('%s must be the path of a PEM file' % name)
            # ca_cert may also be a directory of hashed CA certificates (OpenSSL CApath), as requests accepts.
            usable = os.path.isfile(path) or (name == 'ca_cert' and os.path.isdir(path))
            if not os.path.exists(path):
                raise ConfigError('%s %s does not exist; give the path of a PEM file on the host the task runs on' % (name, path))
            if not usable:
                raise ConfigError('%s %s is not a file; give the path of a PEM file' % (name, path))
            if not os.access(path, os.R_OK):
                raise ConfigError('%s %s is not readable by the user running the task' % (name, path))
        if self.client_key and not self.client_cert:
            raise ConfigError('client_key is set without client_cert; pass the client certificate too')
        timeout = self.timeout
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise ConfigError('timeout must be a number of seconds, got %r' % (timeout,))
        try:
            seconds = float(timeout)
        except OverflowError:
            seconds = float('inf')
        # Beyond about 30 years a socket timeout overflows the platform's time_t; a day per request is plenty.
        if not (seconds > 0 and seconds <= MAX_TIMEOUT):
            raise ConfigError('timeout must be more than 0 and at most %d seconds, got %s' % (MAX_TIMEOUT, timeout))
        return self

    def copy(self, **changes):
        values = dict((name, getattr(self, name)) for name in self.__slots__)
        values.update(changes)
        return RegistryOptions(**values)

    def __repr__(self):
        shown = dict((name, getattr(self, name)) for name in self.__slots__ if name != 'password')
        shown['password'] = '********' if self.password else None
        return 'RegistryOptions(%r)' % (shown,)
