"""Small test images built locally from busybox-static (no internet), and pushing them to test registries.

Image names carry a fingerprint of their recipe, so a later session (or another xdist worker) reuses what is
already in podman's storage; building is serialised with a file lock.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import contextlib
import fcntl
import hashlib
import io
import json
import os
import random
import shutil
import tarfile
import tempfile

from registry_server import write_authfile
from tools import podman

BUSYBOX = '/bin/busybox'
APPLETS = ('sh', 'echo', 'sleep', 'httpd', 'cat', 'ls', 'true', 'false', 'env', 'id', 'wget', 'mkdir', 'rm',
           'ps', 'pwd', 'test', 'grep', 'kill', 'hostname', 'date', 'whoami', 'touch', 'head', 'wc', 'sha256sum')
RECIPE_VERSION = '1'
NAMESPACE = 'localhost/podkit-test'
LOCK_PATH = os.path.join(tempfile.gettempdir(), 'podkit-test-images.lock')
MIB = 1024 * 1024

BASE_CHANGES = ('CMD ["/bin/sh"]', 'ENV FOO=bar', 'LABEL org.example.test=1')
APP_LAYER_SIZE = 2 * MIB
APP_SEED = 'podkit-app'
# What the app image's config says; tests compare against these.
APP = {
    'labels': {'org.example.test': '1', 'org.example.app': 'podkit-app', 'org.example.version': '1.0'},
    'env': {'FOO': 'bar', 'APP_MODE': 'test', 'APP_PORT': '8080'},
    'exposed_ports': ['8080/tcp'],
    'workdir': '/data',
    'user': 'app',
    'entrypoint': ['/bin/busybox'],
    'cmd': ['httpd', '-f', '-v', '-p', '8080', '-h', '/data/www'],
    'layers': 3,
}
PLATFORMS = (('amd64', None), ('arm64', 'v8'))

Pushed = collections.namedtuple('Pushed', 'ref digest ref_by_digest')


@contextlib.contextmanager
def _build_lock():
    with open(LOCK_PATH, 'a') as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _busybox_digest():
    h = hashlib.sha256()
    with open(BUSYBOX, 'rb') as f:
        for chunk in iter(lambda: f.read(MIB), b''):
            h.update(chunk)
    return h.hexdigest()


def _fingerprint(*parts):
    h = hashlib.sha256(RECIPE_VERSION.encode())
    h.update(_busybox_digest().encode())
    for part in parts:
        h.update(repr(part).encode())
    return h.hexdigest()[:12]


def image_exists(name):
    return podman('image', 'exists', name, check=False).returncode == 0


def image_inspect(name):
    return json.loads(podman('image', 'inspect', name).stdout)[0]


def image_layers(name):
    return len(image_inspect(name)['RootFS']['Layers'])


def _add_file(tar, name, data, mode=0o644, uid=0, gid=0):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.uid, info.gid = uid, gid
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar, name, mode=0o755, uid=0, gid=0):
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    info.uid, info.gid = uid, gid
    tar.addfile(info)


def write_rootfs(path, marker='base'):
    """A busybox rootfs tarball: /bin/busybox + applet symlinks, passwd with root and app (1000), /etc/podkit-marker."""
    with tarfile.open(path, 'w') as tar:
        for d in ('bin', 'etc', 'root', 'home', 'var', 'var/www', 'dev', 'proc', 'sys', 'run'):
            _add_dir(tar, d)
        _add_dir(tar, 'tmp', 0o1777)
        _add_dir(tar, 'home/app', 0o755, 1000, 1000)
        with open(BUSYBOX, 'rb') as f:
            _add_file(tar, 'bin/busybox', f.read(), 0o755)
        for applet in APPLETS:
            info = tarfile.TarInfo('bin/' + applet)
            info.type = tarfile.SYMTYPE
            info.linkname = 'busybox'
            tar.addfile(info)
        _add_file(tar, 'etc/passwd', b'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n'
                                     b'nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n')
        _add_file(tar, 'etc/group', b'root:x:0:\napp:x:1000:\nnogroup:x:65534:\n')
        _add_file(tar, 'etc/podkit-marker', marker.encode() + b'\n')
        _add_file(tar, 'var/www/index.html', b'<h1>podkit test</h1>\n')
    return path


def import_rootfs(name, workdir, marker='base', changes=BASE_CHANGES, arch=None, variant=None):
    tarball = write_rootfs(os.path.join(str(workdir), 'rootfs-%s.tar' % hashlib.sha256(name.encode()).hexdigest()[:8]), marker)
    args = ['import']
    for change in changes:
        args += ['--change', change]
    if arch:
        args += ['--arch', arch, '--os', 'linux']
    if variant:
        args += ['--variant', variant]
    podman(*(args + [tarball, name]))
    os.unlink(tarball)
    return name


def write_random_file(path, size, seed):
    """``size`` bytes of incompressible data, reproducible from ``seed``."""
    rng = random.Random(seed)
    with open(path, 'wb') as f:
        left = size
        while left > 0:
            n = min(left, 4 * MIB)
            f.write(rng.randbytes(n))
            left -= n


def _build(name, base, workdir, files, instructions, extra_files=None):
    """podman build of ``base`` + COPY of each (filename, size, seed) in ``files`` + extra instructions
    (``extra_files``: {name: bytes} put in the build context for them)."""
    ctx = tempfile.mkdtemp(prefix='ctx-', dir=str(workdir))
    try:
        for filename, data in (extra_files or {}).items():
            with open(os.path.join(ctx, filename), 'wb') as f:
                f.write(data)
        lines = ['FROM %s' % base]
        for filename, size, seed in files:
            write_random_file(os.path.join(ctx, filename), size, seed)
            lines.append('COPY %s /data/%s' % (filename, filename))
        lines += list(instructions)
        with open(os.path.join(ctx, 'Containerfile'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
        podman('build', '--pull=never', '-q', '-f', os.path.join(ctx, 'Containerfile'), '-t', name, ctx)
    finally:
        shutil.rmtree(ctx, ignore_errors=True)
    return name


class ImageSet:
    """The session's images (local podman storage).

    base   busybox, 1 layer, CMD ["/bin/sh"], ENV FOO=bar, LABEL org.example.test=1
    app    base + random-data layer + index.html layer; labels/env/EXPOSE/WORKDIR/USER/ENTRYPOINT/CMD as in APP
           (runs busybox httpd on 8080 as user app)
    platform_images  {'linux/amd64': name, 'linux/arm64/v8': name} (differ in /etc/podkit-marker)
    manifest_list    a podman manifest list of the two (push it with push_manifest_list)
    """

    def __init__(self, workdir):
        self.workdir = str(workdir)
        self.expected = APP
        fp = _fingerprint(BASE_CHANGES, APP, APP_LAYER_SIZE, APP_SEED, PLATFORMS, APPLETS)
        self.fingerprint = fp
        self.base = '%s/base:%s' % (NAMESPACE, fp)
        self.app = '%s/app:%s' % (NAMESPACE, fp)
        self.platform_images = {}
        for arch, variant in PLATFORMS:
            key = 'linux/%s%s' % (arch, '/' + variant if variant else '')
            self.platform_images[key] = '%s/%s%s:%s' % (NAMESPACE, arch, variant or '', fp)
        self.manifest_list = '%s/multiarch:%s' % (NAMESPACE, fp)
        with _build_lock():
            self._ensure()

    def _ensure(self):
        if not image_exists(self.base):
            import_rootfs(self.base, self.workdir)
        if not image_exists(self.app):
            _build(self.app, self.base, self.workdir, [('random.bin', APP_LAYER_SIZE, APP_SEED)], [
                'COPY index.html /data/www/index.html',
                'LABEL org.example.app="podkit-app" org.example.version="1.0"',
                'ENV APP_MODE=test APP_PORT=8080',
                'EXPOSE 8080/tcp',
                'WORKDIR /data',
                'USER app',
                'ENTRYPOINT ["/bin/busybox"]',
                'CMD ["httpd", "-f", "-v", "-p", "8080", "-h", "/data/www"]',
            ], extra_files={'index.html': b'<h1>podkit app</h1>\n'})
        fresh = False
        for (arch, variant), name in zip(PLATFORMS, self.platform_images.values()):
            if not image_exists(name):
                import_rootfs(name, self.workdir, marker='%s%s' % (arch, variant or ''), arch=arch, variant=variant)
                fresh = True
        exists = podman('manifest', 'exists', self.manifest_list, check=False).returncode == 0
        if exists and fresh:
            podman('manifest', 'rm', self.manifest_list)
            exists = False
        if not exists:
            podman('manifest', 'create', self.manifest_list)
            for name in self.platform_images.values():
                podman('manifest', 'add', self.manifest_list, 'containers-storage:' + name)


def random_layer_image(size_bytes, seed, layers=1, base=None, workdir=None):
    """An image = ``base`` (default: the busybox base) + ``layers`` layers of incompressible data totalling
    ``size_bytes`` (split evenly), reproducible from ``seed``. Reused if already built. Returns its name.
    """
    workdir = workdir or tempfile.gettempdir()
    with _build_lock():
        if base is None:
            fp = _fingerprint(BASE_CHANGES, APPLETS)
            base = '%s/random-base:%s' % (NAMESPACE, fp)
            if not image_exists(base):
                import_rootfs(base, workdir)
        name = '%s/random:%d-%d-%s' % (NAMESPACE, size_bytes, layers, _fingerprint(size_bytes, seed, layers, base))
        if image_exists(name):
            return name
        per = size_bytes // layers
        files = []
        for i in range(layers):
            size = per if i < layers - 1 else size_bytes - per * (layers - 1)
            files.append(('layer%d.bin' % i, size, '%s-%d' % (seed, i)))
        return _build(name, base, workdir, files, ['LABEL org.example.random="%s"' % seed])


@contextlib.contextmanager
def _auth_args(registry, creds):
    """--authfile (always one: an empty file for anonymous, so no machine-wide auth.json is used) + TLS flags."""
    host = getattr(registry, 'host', registry)
    if creds is None:
        creds = registry.creds() if hasattr(registry, 'creds') else None
    tmpdir = tempfile.mkdtemp(prefix='podkit-auth-')
    try:
        path = write_authfile(os.path.join(tmpdir, 'auth.json'), {host: tuple(creds)} if creds else {})
        args = ['--authfile', path]
        if getattr(registry, 'tls', False):
            args += ['--tls-verify=true', '--cert-dir', registry.cert_dir]
        else:
            args.append('--tls-verify=false')
        yield host, args, tmpdir
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _pushed(host, repo_tag, digest_path):
    with open(digest_path) as f:
        digest = f.read().strip()
    repo = repo_tag.rsplit(':', 1)[0] if ':' in repo_tag.rsplit('/', 1)[-1] else repo_tag
    return Pushed('%s/%s' % (host, repo_tag), digest, '%s/%s@%s' % (host, repo, digest))


def push(image, registry, repo_tag, format='v2s2', creds=None, extra_args=()):  # pylint: disable=redefined-builtin
    """``podman push`` ``image`` to ``registry`` (a Registry, or a plain-http "host:port") as ``repo_tag``.

    format: 'v2s2' or 'oci'. creds: None = the registry's read-write user (if it has one), False = anonymous,
    or (user, password). Returns Pushed(ref, digest, ref_by_digest); raises tools.CommandError on failure.
    """
    with _auth_args(registry, creds) as (host, args, tmpdir):
        digest_path = os.path.join(tmpdir, 'digest')
        # --remove-signatures: a signing test may leave signed copies in the shared storage, and podman then
        # refuses a push that would invalidate those signatures.
        podman(*(['push', '--remove-signatures', '--format', format, '--digestfile', digest_path] + args + list(extra_args)
                 + [image, 'docker://%s/%s' % (host, repo_tag)]))
        return _pushed(host, repo_tag, digest_path)


def push_manifest_list(list_name, registry, repo_tag, format='v2s2', creds=None):  # pylint: disable=redefined-builtin
    """``podman manifest push --all`` a local manifest list (e.g. ImageSet.manifest_list); like push()."""
    with _auth_args(registry, creds) as (host, args, tmpdir):
        digest_path = os.path.join(tmpdir, 'digest')
        podman(*(['manifest', 'push', '--all', '--remove-signatures', '--format', format, '--digestfile', digest_path] + args
                 + [list_name, 'docker://%s/%s' % (host, repo_tag)]))
        return _pushed(host, repo_tag, digest_path)


def push_blob(registry, repo, data):
    """Upload ``data`` to ``repo`` of a plain-http ``registry`` (monolithic POST + PUT); returns {digest, size}.
    For tests that push documents no builder writes (odd configs, artifacts)."""
    import requests
    digest = 'sha256:' + hashlib.sha256(data).hexdigest()
    resp = requests.post('%s/v2/%s/blobs/uploads/' % (registry.url, repo), timeout=10)
    resp.raise_for_status()
    location = resp.headers['Location']
    location = location if location.startswith('http') else registry.url + location
    resp = requests.put(location + ('&' if '?' in location else '?') + 'digest=' + digest, data=data,
                        headers={'Content-Type': 'application/octet-stream'}, timeout=10)
    resp.raise_for_status()
    return {'digest': digest, 'size': len(data)}
