"""Real registries for the integration tests: Debian's ``docker-registry`` (CNCF distribution 2.8.2).

``start_registry(workdir, auth=None|'basic'|'token', tls=..., ca=...)`` returns a running ``Registry``; call
``stop()`` (or use it as a context manager). Each registry has its own config, filesystem storage (delete
enabled, no blob-descriptor cache so deletes are seen at once) and log, all under ``workdir``.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import atexit
import base64
import json
import os
import secrets
import socket
import subprocess
import time

import requests

import pki
from token_server import TokenServer

REGISTRY_BIN = 'docker-registry'
_RUNNING = set()


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]
    finally:
        sock.close()


def write_authfile(path, entries):
    """Write a containers-auth.json(5) file: ``entries`` is {host: (username, password)}. Mode 0600."""
    auths = {}
    for host, (user, password) in entries.items():
        auths[host] = {'auth': base64.b64encode(('%s:%s' % (user, password)).encode('utf-8')).decode('ascii')}
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        json.dump({'auths': auths}, f)
    return str(path)


def _toml_str(value):
    return json.dumps(value)  # a JSON string literal is a valid TOML basic string


def write_registries_conf(path, registries=(), unqualified_search=(), aliases=None, short_name_mode=None):
    """Write a registries.conf v2 (containers-registries.conf(5)) for a test and return its path.

    ``registries``: dicts with ``location`` and optional ``insecure``, ``blocked``, ``prefix`` and ``mirrors``
    (list of dicts with ``location``/``insecure``/``pull-from-mirror``). Export it per command with
    ``env={'CONTAINERS_REGISTRIES_CONF': path}``; nothing sets it globally.
    """
    lines = ['unqualified-search-registries = [%s]' % ', '.join(_toml_str(r) for r in unqualified_search)]
    if short_name_mode:
        lines.append('short-name-mode = %s' % _toml_str(short_name_mode))
    for reg in registries:
        lines += ['', '[[registry]]']
        for key in ('prefix', 'location'):
            if key in reg:
                lines.append('%s = %s' % (key, _toml_str(reg[key])))
        for key in ('insecure', 'blocked'):
            if key in reg:
                lines.append('%s = %s' % (key, 'true' if reg[key] else 'false'))
        for mirror in reg.get('mirrors', ()):
            lines += ['', '[[registry.mirror]]', 'location = %s' % _toml_str(mirror['location'])]
            for key in ('insecure', 'pull-from-mirror'):
                if key in mirror:
                    value = mirror[key]
                    lines.append('%s = %s' % (key, ('true' if value else 'false') if isinstance(value, bool) else _toml_str(value)))
    if aliases:
        lines += ['', '[aliases]'] + ['%s = %s' % (_toml_str(k), _toml_str(v)) for k, v in sorted(aliases.items())]
    with open(str(path), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return str(path)


class Registry:
    """A running registry.

    host "127.0.0.1:PORT", localhost "localhost:PORT", url, port, scheme, tls, insecure (= not tls), root (storage
    dir), workdir, config_path, log_path, auth (None|'basic'|'token'), ca_cert (PEM path or None), cert_dir (for
    --cert-dir or None), verify (what to give requests), username/password (read-write user or None),
    readonly_username/readonly_password (token only), token_server, realm, service.
    """

    def __init__(self, workdir, auth=None, tls=False, ca=None):
        self.workdir = str(workdir)
        self.auth = auth
        self.tls = tls
        self.insecure = not tls
        self.ca = ca
        self.ca_cert = ca.cert_path if ca else None
        self.cert_dir = ca.cert_dir if ca else None
        self.verify = self.ca_cert if tls else False
        self.scheme = 'https' if tls else 'http'
        self.root = os.path.join(self.workdir, 'storage')
        self.config_path = os.path.join(self.workdir, 'config.yml')
        self.log_path = os.path.join(self.workdir, 'registry.log')
        self.username = self.password = None
        self.readonly_username = self.readonly_password = None
        self.token_server = None
        self.realm = self.service = None
        self.port = None
        self.host = self.localhost = self.url = None
        self.proc = None

    # --- convenience ---------------------------------------------------------------------------------------
    def creds(self, readonly=False):
        if readonly:
            return (self.readonly_username, self.readonly_password)
        return (self.username, self.password) if self.username else None

    def write_authfile(self, path, readonly=False, host=None):
        """containers-auth.json for this registry (read-write user, or the read-only one)."""
        creds = self.creds(readonly)
        return write_authfile(path, {host or self.host: creds} if creds else {})

    def get(self, path, **kw):
        """requests.get(url + path) with this registry's TLS trust; pass auth=... yourself."""
        kw.setdefault('verify', self.verify)
        kw.setdefault('timeout', 30)
        return requests.get(self.url + path, **kw)

    def bearer_token(self, scopes=(), creds=None):
        """A token from the token server for ``scopes`` (creds None = anonymous)."""
        params = {'service': self.service, 'scope': list(scopes)}
        resp = requests.get(self.realm, params=params, auth=creds, verify=self.verify, timeout=30)
        resp.raise_for_status()
        return resp.json()['token']

    def log(self):
        try:
            with open(self.log_path, errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def repositories(self):
        """Repository names present in storage (read from disk, needs no auth)."""
        base = os.path.join(self.root, 'docker', 'registry', 'v2', 'repositories')
        found = []
        for dirpath, dirnames, _files in os.walk(base):
            if '_manifests' in dirnames:
                found.append(os.path.relpath(dirpath, base))
                dirnames[:] = [d for d in dirnames if not d.startswith('_')]
        return sorted(found)

    # --- process ---------------------------------------------------------------------------------------------
    def _config(self, extra):
        http = {'addr': self.host, 'secret': secrets.token_hex(16), 'headers': {'X-Content-Type-Options': ['nosniff']}}
        if self.tls:
            leaf = self.ca.issue('registry-%d' % self.port)
            http['tls'] = {'certificate': leaf.cert_path, 'key': leaf.key_path}
        config = {
            'version': '0.1',
            'log': {'level': 'info', 'formatter': 'text', 'accesslog': {'disabled': False}},
            'storage': {'filesystem': {'rootdirectory': self.root}, 'delete': {'enabled': True},
                        'maintenance': {'uploadpurging': {'enabled': False}}},
            'http': http,
        }
        if self.auth == 'basic':
            config['auth'] = {'htpasswd': {'realm': 'podkit-registry', 'path': os.path.join(self.workdir, 'htpasswd')}}
        elif self.auth == 'token':
            config['auth'] = {'token': {'realm': self.realm, 'service': self.service, 'issuer': self.token_server.issuer,
                                        'rootcertbundle': self.ca_cert}}
        _merge(config, extra or {})
        # distribution parses YAML with yaml.v2, which reads JSON as well: no quoting pitfalls.
        with open(self.config_path, 'w') as f:
            json.dump(config, f, indent=2)

    def _spawn(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith('REGISTRY_')}
        with open(self.log_path, 'ab') as log:
            self.proc = subprocess.Popen([REGISTRY_BIN, 'serve', self.config_path], stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env)
        _RUNNING.add(self)

    def _wait_ready(self, timeout):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return 'exited with %s' % self.proc.returncode
            try:
                requests.get(self.url + '/v2/', verify=self.verify, timeout=2)
                return None
            except requests.exceptions.SSLError:
                return None  # it answers TLS: up, with a certificate a test made unacceptable on purpose
            except requests.RequestException as exc:
                last = exc
            time.sleep(0.05)
        return 'not answering after %ss (%s)' % (timeout, last)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        _RUNNING.discard(self)
        if self.token_server:
            self.token_server.stop()
            self.token_server = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return 'Registry(%s, auth=%s, tls=%s)' % (self.url, self.auth, self.tls)


def _merge(into, extra):
    """Deep-merge ``extra`` into the config dict; a None value removes the key."""
    for key, value in extra.items():
        if value is None:
            into.pop(key, None)
        elif isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _new_secret(prefix):
    return '%s-%s' % (prefix, secrets.token_urlsafe(18))


def start_registry(workdir, auth=None, tls=None, ca=None, username=None, password=None,
                   token_expires_in=300, token_tls=None, extra_config=None, timeout=20):
    """Start a registry in ``workdir`` (created if needed) and wait for GET /v2/ to answer.

    auth: None, 'basic' (htpasswd bcrypt) or 'token' (Bearer, with a TokenServer; users: a read-write one and a
    read-only one). tls: defaults to True when auth is set. ca: a pki.CA (one is made in workdir if tls needs it).
    extra_config: deep-merged into the generated config (None deletes a key), e.g.
    {'storage': {'delete': {'enabled': False}}}. Passwords are random per registry, so secret-leak tests can
    look for them.
    """
    workdir = str(workdir)
    os.makedirs(workdir, exist_ok=True)
    if tls is None:
        tls = auth is not None
    if tls and ca is None:
        ca = pki.CA(os.path.join(workdir, 'ca'))
    if auth not in (None, 'basic', 'token'):
        raise ValueError('auth must be None, basic or token')
    if auth == 'token' and ca is None:
        ca = pki.CA(os.path.join(workdir, 'ca'))  # the token signing chain needs a root even for a plain-http registry
    attempts = []
    for _attempt in range(3):
        reg = Registry(workdir, auth=auth, tls=tls, ca=ca)
        reg.port = free_port()
        reg.host = '127.0.0.1:%d' % reg.port
        reg.localhost = 'localhost:%d' % reg.port
        reg.url = '%s://%s' % (reg.scheme, reg.host)
        if auth == 'basic':
            reg.username = username or 'podkit-user'
            reg.password = password or _new_secret('basicpw')
            # -i reads the password from stdin: it stays out of argv.
            out = subprocess.run(['htpasswd', '-Bin', reg.username], input=reg.password, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, universal_newlines=True, check=True).stdout
            with open(os.path.join(workdir, 'htpasswd'), 'w') as f:
                f.write(out)
        elif auth == 'token':
            reg.username = username or 'podkit-rw'
            reg.password = password or _new_secret('tokenpw')
            reg.readonly_username = 'podkit-ro'
            reg.readonly_password = _new_secret('ropw')
            reg.service = 'podkit-registry'
            use_tls = tls if token_tls is None else token_tls
            server_cert = ca.issue('token-server-%d' % reg.port) if use_tls else None
            reg.token_server = TokenServer(
                ca.issue('token-signer-%d' % reg.port, server=False), issuer='podkit-token-issuer', service=reg.service,
                users={reg.username: (reg.password, 'rw'), reg.readonly_username: (reg.readonly_password, 'ro')},
                tls=(server_cert.cert_path, server_cert.key_path) if server_cert else None, expires_in=token_expires_in)
            reg.realm = reg.token_server.realm
        reg._config(extra_config)  # pylint: disable=protected-access
        reg._spawn()  # pylint: disable=protected-access
        problem = reg._wait_ready(timeout)  # pylint: disable=protected-access
        if problem is None:
            return reg
        reg.stop()
        log = reg.log()
        attempts.append('%s: %s' % (reg.host, problem))
        if 'address already in use' not in log:
            break
    raise RuntimeError('registry in %s did not start: %s\n--- registry log ---\n%s' % (workdir, '; '.join(attempts), log))


@atexit.register
def _kill_leftovers():
    for reg in list(_RUNNING):
        reg.stop()
