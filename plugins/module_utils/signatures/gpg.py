# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Simple signing with the gpg binary (internal; no stable API).

``run_command(argv, data=None, env=None) -> (rc, stdout bytes, stderr bytes)`` runs gpg; the passphrase only ever
travels in a file (``--passphrase-file``, a private temporary copy 0600), never on argv. A signature is an
OpenPGP *signed message* (not detached) whose literal data is the payload, as containers-signature(5) says.
Verification runs gpg in a temporary GNUPGHOME that holds only the policy's keys and reads gpg's machine-readable
status lines (``--status-fd``): VALIDSIG names the signing key; anything else (BADSIG, ERRSIG, NO_PUBKEY,
EXPKEYSIG, REVKEYSIG) is a rejection.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import stat
import tempfile

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError, SigningError


def _text(data):
    if isinstance(data, bytes):
        return data.decode('utf-8', 'replace')
    return data or ''


def _status(stderr):
    """[(keyword, [args])] of the ``[GNUPG:]`` status lines gpg wrote to stderr (--status-fd 2)."""
    out = []
    for line in _text(stderr).splitlines():
        if line.startswith('[GNUPG:] '):
            parts = line[len('[GNUPG:] '):].split()
            if parts:
                out.append((parts[0], parts[1:]))
    return out


def _messages(stderr):
    lines = [line for line in _text(stderr).splitlines() if line.strip() and not line.startswith('[GNUPG:]')]
    return '; '.join(lines[-3:])[:400]


class GPG(object):
    """gpg through ``run_command``; ``home`` is GNUPGHOME (None: gpg's default)."""

    def __init__(self, run_command, home=None, executable='gpg'):
        self.run_command = run_command
        self.home = os.path.expanduser(home) if home else None
        self.executable = executable

    def _env(self, home=None):
        home = home or self.home
        return {'GNUPGHOME': home} if home else None

    def _run(self, args, data=None, home=None):
        argv = [self.executable, '--batch', '--no-tty', '--status-fd', '2'] + args
        try:
            return self.run_command(argv, data=data, env=self._env(home))
        except (IOError, OSError) as exc:
            raise ConfigError('cannot run %s: %s; install GnuPG (the gnupg package) for simple signing' % (self.executable, exc))

    def sign(self, payload, fingerprint, passphrase_file=None):
        """The binary OpenPGP signed message of ``payload`` made with the secret key ``fingerprint``."""
        directory = None
        try:
            args = ['--pinentry-mode', 'loopback', '--local-user', fingerprint]
            if passphrase_file:
                # A private copy: gpg reads the whole file as the passphrase, skopeo its first line; agree with skopeo.
                directory = tempfile.mkdtemp(prefix='podkit-gpg-')
                os.chmod(directory, stat.S_IRWXU)
                try:
                    with open(passphrase_file, 'rb') as handle:
                        passphrase = handle.read(64 * 1024).split(b'\n', 1)[0].rstrip(b'\r')
                except (IOError, OSError) as exc:
                    raise SigningError('cannot read sign_passphrase_file %s: %s' % (passphrase_file, getattr(exc, 'strerror', None) or exc),
                                       path=passphrase_file)
                copy = os.path.join(directory, 'passphrase')
                fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
                with os.fdopen(fd, 'wb') as handle:
                    handle.write(passphrase)
                args += ['--passphrase-file', copy]
            rc, out, err = self._run(args + ['--sign'], data=payload)
        finally:
            if directory:
                shutil.rmtree(directory, ignore_errors=True)
        status = _status(err)
        words = set(k for k, dummy in status)
        if rc != 0 or 'SIG_CREATED' not in words or not out:
            text = _text(err)
            if 'BAD_PASSPHRASE' in words or 'Bad passphrase' in text:
                reason = 'wrong passphrase for key %s (sign_passphrase_file)' % fingerprint
            elif 'No secret key' in text or 'secret key not available' in text or 'INV_SGNR' in words:
                reason = 'no secret key %s in the GnuPG keyring%s' % (fingerprint, ' %s' % self.home if self.home else '')
            elif 'MISSING_PASSPHRASE' in words or 'No passphrase given' in text:
                reason = 'key %s needs a passphrase: give sign_passphrase_file' % fingerprint
            else:
                reason = 'gpg failed (rc=%s): %s' % (rc, _messages(err))
            raise SigningError('signing with GPG key %s failed: %s; nothing was pushed' % (fingerprint, reason), fingerprint=fingerprint)
        return out

    def import_keys(self, home, keys):
        """Import ``keys`` ([(source, bytes)]) into the temporary ``home``; returns the primary fingerprints."""
        fingerprints = []
        for source, data in keys:
            rc, dummy, err = self._run(['--import'], data=data, home=home)
            found = [args[1] for kw, args in _status(err) if kw == 'IMPORT_OK' and len(args) > 1]
            if rc != 0 and not found:
                raise ConfigError('the policy key %s could not be imported into GnuPG: %s' % (source, _messages(err)))
            fingerprints.extend(found)
        return fingerprints

    def verify(self, signature, keys):
        """(payload bytes, signer fingerprint) when ``signature`` is a valid signed message by one of ``keys``
        ([(source, bytes)]); (None, reason) otherwise."""
        home = tempfile.mkdtemp(prefix='podkit-gpgv-')
        try:
            os.chmod(home, stat.S_IRWXU)
            trusted = set(self.import_keys(home, keys))
            rc, out, err = self._run(['--decrypt'], data=signature, home=home)
            status = _status(err)
            valid = [args for kw, args in status if kw == 'VALIDSIG']
            bad = [kw for kw, dummy in status if kw in ('BADSIG', 'ERRSIG', 'EXPKEYSIG', 'REVKEYSIG', 'EXPSIG', 'NO_PUBKEY')]
            if rc != 0 or not valid or bad:
                if 'NO_PUBKEY' in bad or 'ERRSIG' in bad:
                    return None, 'signed by a key that is not in the policy'
                if bad:
                    return None, 'gpg reported %s' % ', '.join(sorted(set(bad)))
                return None, 'not a valid OpenPGP signature (%s)' % (_messages(err) or 'rc=%s' % rc)
            primary = valid[0][9] if len(valid[0]) > 9 else valid[0][0]
            if primary not in trusted and valid[0][0] not in trusted:
                return None, 'signed by key %s, which is not in the policy' % primary
            return out, primary
        finally:
            shutil.rmtree(home, ignore_errors=True)
