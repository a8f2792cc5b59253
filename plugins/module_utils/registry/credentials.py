# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""containers-auth.json(5): find, read and write registry credentials (internal; no stable API).

Reads the files podman and skopeo read, in their order, including docker's config.json
(``https://index.docker.io/v1/`` keys, ``credHelpers``, ``credsStore``), and writes
``{"auths": {key: {"auth": base64("user:password")}}}`` exactly as ``podman login`` does, so
either tool can use what the other wrote. Writes are atomic (temp file + rename, mode 0600)
and serialized with an flock on ``<file>.lock`` so parallel tasks on one host lose nothing.

No secret ever goes into an exception message, ``details`` or repr().
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import errno
import json
import os
import subprocess
import tempfile

try:
    import fcntl
    HAS_FCNTL = True
except ImportError:  # pragma: no cover - not on POSIX
    HAS_FCNTL = False

from ansible_collections.podkit.containers.plugins.module_utils import documents
from ansible_collections.podkit.containers.plugins.module_utils.errors import CredentialsError
from ansible_collections.podkit.containers.plugins.module_utils.registry.reference import DOCKER_HUB, is_docker_hub

# What docker login hands to a credential helper for Docker Hub.
DOCKER_HUB_SERVER_URL = 'https://index.docker.io/v1/'
IDENTITY_TOKEN_USERNAME = '<token>'

# What the code below relies on; each auths entry is judged where it is used (_from_entry, get_entry).
_AUTH_FILE_SHAPE = documents.Object(optional={'auths': dict, 'credHelpers': documents.MapOf(str), 'credsStore': str})
_HELPER_ANSWER_SHAPE = documents.Object(optional={'Username': documents.Nullable(str), 'Secret': documents.Nullable(str)})


class Credentials(object):
    """Credentials for one registry. ``source`` says where they came from (a file or a helper)."""

    __slots__ = ('username', 'password', 'identity_token', 'source')

    def __init__(self, username=None, password=None, identity_token=None, source=None):
        self.username = username
        self.password = password
        self.identity_token = identity_token
        self.source = source

    def __eq__(self, other):
        if not isinstance(other, Credentials):
            return NotImplemented
        return (self.username, self.password, self.identity_token, self.source) == \
            (other.username, other.password, other.identity_token, other.source)

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None

    def __repr__(self):
        return 'Credentials(username=%r, password=%s, identity_token=%s, source=%r)' % (
            self.username, '********' if self.password else None, '********' if self.identity_token else None, self.source)


def _home(env):
    home = env.get('HOME')
    if home:
        return home
    return os.path.expanduser('~')


def auth_file_candidates(auth_file=None, env=None, uid=None):
    """The auth files to read, in order (they need not exist).

    An explicit ``auth_file`` or ``$REGISTRY_AUTH_FILE`` is the only file. Otherwise
    ``$XDG_RUNTIME_DIR/containers/auth.json`` (``/run/containers/$UID/auth.json`` without it),
    ``~/.config/containers/auth.json``, ``~/.docker/config.json``.
    """
    env = os.environ if env is None else env
    if auth_file:
        return [auth_file]
    if env.get('REGISTRY_AUTH_FILE'):
        return [env['REGISTRY_AUTH_FILE']]
    uid = os.getuid() if uid is None else uid
    runtime_dir = env.get('XDG_RUNTIME_DIR')
    if runtime_dir:
        first = os.path.join(runtime_dir, 'containers', 'auth.json')
    else:
        first = '/run/containers/%d/auth.json' % uid
    home = _home(env)
    return [
        first,
        os.path.join(home, '.config', 'containers', 'auth.json'),
        os.path.join(home, '.docker', 'config.json'),
    ]


def default_auth_file(auth_file=None, env=None, uid=None):
    """The file ``podman login`` writes to."""
    return auth_file_candidates(auth_file, env, uid)[0]


def normalize_key(key):
    """The registry-or-repository a key of ``auths``/``credHelpers`` stands for.

    Keys written with a scheme (docker's ``https://index.docker.io/v1/``) are legacy: only their
    host counts. Docker Hub's names all become ``docker.io``.
    """
    stripped = key
    for scheme in ('http://', 'https://'):
        if stripped.startswith(scheme):
            stripped = stripped[len(scheme):].split('/', 1)[0]
            break
    stripped = stripped.rstrip('/')
    host, sep, rest = stripped.partition('/')
    if is_docker_hub(host):
        host = DOCKER_HUB
    return host + sep + rest


def key_candidates(registry, repository=None):
    """Keys from most to least specific: ``registry/ns/repo``, ..., ``registry/ns``, ``registry``."""
    registry = normalize_key(registry)
    keys = []
    if repository:
        parts = repository.strip('/').split('/')
        for end in range(len(parts), 0, -1):
            keys.append('%s/%s' % (registry, '/'.join(parts[:end])))
    keys.append(registry)
    return keys


def _decode_auth(value, path, key):
    """(username, password) from the base64 ``auth`` field; the error never shows the value."""
    if not isinstance(value, str):
        raise CredentialsError("auth file %s: the 'auth' value for '%s' is not a string" % (path, key), path=path)
    try:
        decoded = base64.b64decode(value.encode('ascii'), validate=False).decode('utf-8')
    except (binascii.Error, ValueError, UnicodeError):
        decoded = None
    if decoded is None or ':' not in decoded:
        raise CredentialsError("auth file %s: the 'auth' value for '%s' is not base64 of 'username:password'; "
                               "remove the entry (or fix it), then log in again" % (path, key), path=path)
    username, _sep, password = decoded.partition(':')
    return username, password


def _encode_auth(username, password):
    return base64.b64encode(('%s:%s' % (username, password)).encode('utf-8')).decode('ascii')


def _load_json(path):
    """The parsed file ({} when missing or empty). Corrupt → CredentialsError without any content."""
    try:
        with open(path, 'rb') as handle:
            raw = handle.read()
    except (IOError, OSError) as err:
        if err.errno == errno.ENOENT:
            return {}
        raise CredentialsError('cannot read auth file %s: %s' % (path, err.strerror or err), path=path)
    if not raw.strip():
        return {}
    what = 'auth file %s' % path
    try:
        data = documents.load_json(raw, what, documents.AUTH_FILE, CredentialsError, path=path)
        return documents.check(data, _AUTH_FILE_SHAPE, what, CredentialsError, path=path)
    except CredentialsError as err:
        # The parser never quotes the document, so the message is safe with the credentials the file holds.
        raise CredentialsError('%s; fix or remove it' % err.msg, **err.details)


def _default_run_command(argv, data):
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as err:
        return 127, b'', ('%s: %s' % (argv[0], err.strerror or err)).encode('utf-8')
    stdout, stderr = proc.communicate(data)
    return proc.returncode, stdout, stderr


def _text(value):
    if isinstance(value, bytes):
        return value.decode('utf-8', 'replace')
    return value or ''


def _helper_servers(registry):
    """What to ask a helper for: docker keeps Hub credentials under its v1 URL."""
    if registry == DOCKER_HUB:
        return [DOCKER_HUB_SERVER_URL, DOCKER_HUB]
    return [registry]


def _run_helper(helper, registry, run_command, source):
    """Credentials from ``docker-credential-<helper> get``, or None when it has none for the registry."""
    program = 'docker-credential-%s' % helper
    for server in _helper_servers(registry):
        try:
            rc, stdout, stderr = run_command([program, 'get'], server.encode('utf-8'))
        except OSError as err:
            rc, stdout, stderr = 127, b'', str(err)
        out, err = _text(stdout), _text(stderr)
        if rc != 0:
            # docker-credential-helpers print this (on stdout) when the store has no entry.
            if 'credentials not found' in (out + err).lower():
                continue
            first = err.strip().splitlines()[0] if err.strip() else ''
            raise CredentialsError('credential helper %s failed for registry %s (rc=%s)%s'
                                   % (program, registry, rc, (': ' + first[:200]) if first else ''),
                                   helper=program, registry=registry, rc=rc)
        try:
            answer = documents.load_json(out, 'the answer', documents.CREDENTIAL_HELPER, CredentialsError)
            documents.check(answer, _HELPER_ANSWER_SHAPE, 'the answer', CredentialsError)
        except CredentialsError as err:
            raise CredentialsError('credential helper %s returned something that is not its JSON answer for registry %s (%s)'
                                   % (program, registry, err.msg), helper=program, registry=registry)
        username, secret = answer.get('Username'), answer.get('Secret')
        if not secret:
            continue
        if username == IDENTITY_TOKEN_USERNAME:
            return Credentials(None, None, secret, source)
        return Credentials(username, secret, None, source)
    return None


def _from_entry(entry, path, key):
    """Credentials from one ``auths`` entry, or None when it holds none (docker leaves ``{}`` with a credsStore)."""
    if not isinstance(entry, dict):
        raise CredentialsError("auth file %s: the entry for '%s' is not a JSON object" % (path, key), path=path)
    username = password = None
    if entry.get('auth'):
        username, password = _decode_auth(entry['auth'], path, key)
    elif entry.get('username') and entry.get('password'):
        username, password = entry['username'], entry['password']
    token = entry.get('identitytoken') or None
    for name, value in (('username', username), ('password', password), ('identitytoken', token)):
        if value is not None and not isinstance(value, str):
            raise CredentialsError("auth file %s: the '%s' value for '%s' is not a string" % (path, name, key), path=path)
    if not token and not (username or password):
        return None
    return Credentials(username, password, token, path)


def _find_in_file(data, path, registry, repository, run_command):
    registry = normalize_key(registry)
    helpers = data.get('credHelpers') or {}
    for key, helper in helpers.items():
        if normalize_key(key) == registry and helper:
            return _run_helper(helper, registry, run_command, 'credential helper docker-credential-%s' % helper)
    auths = data.get('auths') or {}
    # Exact keys first, most specific first; then legacy keys (scheme, Hub aliases) normalized.
    for key in key_candidates(registry, repository):
        if key in auths:
            found = _from_entry(auths[key], path, key)
            if found is not None:
                return found
    normalized = dict((normalize_key(k), k) for k in auths if normalize_key(k) != k)
    for key in key_candidates(registry, repository):
        if key in normalized:
            found = _from_entry(auths[normalized[key]], path, normalized[key])
            if found is not None:
                return found
    store = data.get('credsStore')
    if store:
        return _run_helper(store, registry, run_command, 'credential helper docker-credential-%s' % store)
    return None


def lookup_credentials(registry, repository=None, auth_file=None, env=None, run_command=None, uid=None):
    """Credentials for ``registry`` (and optionally ``repository``) from the auth files, or None.

    ``run_command(argv, data) -> (rc, stdout, stderr)`` runs credential helpers (default: subprocess).
    """
    run_command = run_command or _default_run_command
    for path in auth_file_candidates(auth_file, env, uid):
        data = _load_json(path)
        if not data:
            continue
        found = _find_in_file(data, path, registry, repository, run_command)
        if found is not None:
            return found
    return None


def _makedirs_private(directory):
    """Create ``directory`` (and missing parents) with mode 0700, as podman does for its auth dir."""
    missing = []
    current = os.path.abspath(directory)
    while current and not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except OSError as err:
            if err.errno != errno.EEXIST:
                raise CredentialsError('cannot create directory %s for the auth file: %s' % (path, err.strerror or err), path=path)
        else:
            os.chmod(path, 0o700)  # mkdir honours the umask


class AuthFile(object):
    """One auth file, read and changed the way podman login/logout do."""

    def __init__(self, path):
        self.path = path

    def read(self):
        """The file's JSON object ({} when missing); a corrupt file raises CredentialsError and stays untouched."""
        return self._checked(_load_json(self.path))

    def _checked(self, data):
        """``data`` when every ``auths`` entry has the shape containers-auth.json(5) gives it.

        podman refuses such a file as a whole; rewriting it here would silently replace or reformat the entry
        the user has to repair, so a write stops before it starts (the message never shows a value).
        """
        for key, entry in sorted((data.get('auths') or {}).items()):
            if not isinstance(entry, dict):
                raise CredentialsError("auth file %s: the entry for '%s' is not a JSON object; fix or remove it (the file "
                                       "was left as it is)" % (self.path, key), path=self.path)
            for field in ('auth', 'identitytoken', 'username', 'password'):
                if field in entry and not isinstance(entry[field], str):
                    raise CredentialsError("auth file %s: '%s' of the entry for '%s' is not a string; fix or remove it "
                                           "(the file was left as it is)" % (self.path, field, key), path=self.path)
        return data

    def get_entry(self, key):
        """(username, has_password) for ``auths[key]`` or None: enough for a diff, without the secret."""
        auths = self.read().get('auths') or {}
        if key not in auths:
            return None
        entry = auths[key]
        username = password = None
        if entry.get('auth'):
            username, password = _decode_auth(entry['auth'], self.path, key)
        return (username or None, bool(password or entry.get('identitytoken')))

    @staticmethod
    def _check_key(key):
        if not key or not isinstance(key, str):
            raise CredentialsError('an auth file key must be a non-empty registry[/repository]')
        if '://' in key:
            raise CredentialsError("auth file key '%s' must be host[:port][/repository] without a scheme" % key)

    @staticmethod
    def _apply_set(data, key, username, password):
        auths = data.setdefault('auths', {})
        wanted = {'auth': _encode_auth(username, password)}
        if auths.get(key) == wanted:
            return False
        auths[key] = wanted
        return True

    @staticmethod
    def _apply_remove(data, key):
        auths = data.get('auths') or {}
        if key not in auths:
            return False
        del auths[key]
        return True

    def would_set(self, key, username, password):
        """Whether set_credentials would change the file (check mode)."""
        self._check_key(key)
        return self._apply_set(self.read(), key, username, password)

    def would_remove(self, key):
        """Whether remove would change the file (check mode)."""
        self._check_key(key)
        return self._apply_remove(self.read(), key)

    def set_credentials(self, key, username, password, dry_run=False):
        """Store ``username``/``password`` under ``auths[key]``; True if the file changed (or would, with dry_run)."""
        self._check_key(key)
        if username is None or ':' in username:
            raise CredentialsError("a username for '%s' must be given and must not contain ':'" % key)
        if dry_run:
            return self.would_set(key, username, password)
        return self._update(lambda data: self._apply_set(data, key, username, password))

    def remove(self, key, dry_run=False):
        """Delete ``auths[key]``; True if it was there."""
        self._check_key(key)
        if dry_run:
            return self.would_remove(key)
        return self._update(lambda data: self._apply_remove(data, key))

    def _update(self, change):
        """Read-modify-write under an exclusive lock on ``<path>.lock``; writes only when ``change`` says so."""
        directory = os.path.dirname(os.path.abspath(self.path))
        _makedirs_private(directory)
        lock_path = self.path + '.lock'
        try:
            lock_fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as err:
            raise CredentialsError('cannot lock auth file %s: %s' % (self.path, err.strerror or err), path=self.path)
        try:
            if HAS_FCNTL:
                fcntl.flock(lock_fd, fcntl.LOCK_EX)
            data = self._checked(_load_json(self.path))
            changed = change(data)
            if changed:
                self._write(directory, data)
            return changed
        finally:
            os.close(lock_fd)  # closing releases the flock

    def _write(self, directory, data):
        payload = json.dumps(data, indent='\t').encode('utf-8') + b'\n'
        try:
            fd, tmp_path = tempfile.mkstemp(dir=directory, prefix='.%s.' % os.path.basename(self.path), suffix='.tmp')
        except OSError as err:
            raise CredentialsError('cannot write auth file %s: %s' % (self.path, err.strerror or err), path=self.path)
        try:
            try:
                os.fchmod(fd, 0o600)
                offset = 0
                while offset < len(payload):
                    offset += os.write(fd, payload[offset:])
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp_path, self.path)
        except OSError as err:
            try:
                os.unlink(tmp_path)
            except OSError:
                pass
            raise CredentialsError('cannot write auth file %s: %s' % (self.path, err.strerror or err), path=self.path)
        try:
            dir_fd = os.open(directory, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        finally:
            os.close(dir_fd)
