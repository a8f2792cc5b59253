# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Text files written the way a configuration manager must write them (internal; no stable API).

render -> read what is there -> compare -> (check mode stops here) -> temp file in the same directory
-> fsync -> rename over the target -> fsync the directory. A reader (systemd, the Quadlet generator)
sees the old file or the new one, never half of one. Every OS error becomes a FileWriteError with
the path and what to do, never a traceback.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import tempfile

from ansible_collections.podkit.containers.plugins.module_utils.errors import FileWriteError  # noqa: F401  (re-exported)


_HINTS = {
    errno.EACCES: 'permission denied: run as a user who may write there (become) or choose another dest',
    errno.EPERM: 'operation not permitted: run as a user who may write there (become) or choose another dest',
    errno.EROFS: 'the file system is read-only: choose a dest on a writable file system',
    errno.ENOTDIR: 'a component of the path is a file, not a directory: choose another dest',
    errno.ENOSPC: 'no space left on the device',
    errno.EISDIR: 'the path is a directory, not a file',
}


def _fail(action, path, exc):
    hint = _HINTS.get(exc.errno, exc.strerror or str(exc))
    return FileWriteError('cannot %s %s: %s' % (action, path, hint), path=path, errno=exc.errno,
                          error=exc.strerror or str(exc))


def read_text(path):
    """The file's text, or None when it does not exist."""
    try:
        with open(path, 'rb') as handle:
            return handle.read().decode('utf-8', 'replace')
    except (IOError, OSError) as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None  # ENOTDIR: a parent is a file, so the file cannot exist; creating the directory says why
        raise _fail('read', path, exc)


def _makedirs(directory, mode):
    """Create missing parents one by one so the error names the directory that could not be made."""
    missing = []
    current = directory
    while current and not os.path.isdir(current):
        if os.path.lexists(current):
            raise FileWriteError('cannot create directory %s: %s exists and is not a directory; choose another dest'
                                 % (directory, current), path=directory)
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for path in reversed(missing):
        try:
            os.mkdir(path, mode)
        except (IOError, OSError) as exc:
            if exc.errno == errno.EEXIST and os.path.isdir(path):
                continue
            raise _fail('create directory', path, exc)


def _fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a directory; the rename is done anyway
        pass
    finally:
        os.close(fd)


def diff_of(path, before, after):
    return {'before': before or '', 'after': after or '',
            'before_header': path if before is not None else '%s (absent)' % path,
            'after_header': path if after is not None else '%s (absent)' % path}


class FileResult(object):
    """What ensure_file/remove_file found and did: ``changed``, ``before``/``after`` text and ``diff``."""

    def __init__(self, path, before, after):
        self.path = path
        self.before = before
        self.after = after
        self.changed = before != after

    @property
    def diff(self):
        return diff_of(self.path, self.before, self.after)


def write_atomic(path, content, mode=0o644, dir_mode=0o755):
    """Replace ``path`` with ``content`` (text) atomically, creating its directories."""
    directory = os.path.dirname(os.path.abspath(path))
    _makedirs(directory, dir_mode)
    data = content.encode('utf-8')
    try:
        fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), suffix='.tmp', dir=directory)
    except (IOError, OSError) as exc:
        raise _fail('write', path, exc)
    try:
        try:
            with os.fdopen(fd, 'wb') as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, mode)
            os.rename(tmp, path)
        except (IOError, OSError) as exc:
            raise _fail('write', path, exc)
    finally:
        if os.path.lexists(tmp):
            try:
                os.unlink(tmp)
            except OSError:
                pass
    _fsync_dir(directory)


def ensure_file(path, content, mode=0o644, check_mode=False):
    """Make ``path`` hold ``content``; in check mode only compare. Returns a FileResult."""
    before = read_text(path)
    result = FileResult(path, before, content)
    if not result.changed:
        try:
            if (os.stat(path).st_mode & 0o7777) != mode:
                result.changed = True
                if not check_mode:
                    os.chmod(path, mode)
        except (IOError, OSError) as exc:
            raise _fail('change the mode of', path, exc)
        return result
    if not check_mode:
        write_atomic(path, content, mode=mode)
    return result


def remove_file(path, check_mode=False):
    """Make ``path`` absent; in check mode only look. Returns a FileResult."""
    before = read_text(path)
    result = FileResult(path, before, None)
    if result.changed and not check_mode:
        try:
            os.unlink(path)
        except (IOError, OSError) as exc:
            if exc.errno != errno.ENOENT:
                raise _fail('remove', path, exc)
        _fsync_dir(os.path.dirname(os.path.abspath(path)))
    return result


def restore(path, before, mode=0o644):
    """Put back what ``path`` held before (None: remove it) -- the undo of a write whose follow-up failed."""
    if before is None:
        remove_file(path)
    else:
        write_atomic(path, before, mode=mode)
