"""Real components for the integration tests, all on 127.0.0.1 in temp dirs, torn down at session end.

Fixtures (session scope unless said otherwise):
  podman_env           (autouse) CONTAINERS_CONF -> a containers.conf with runc + default ulimits, in os.environ
  test_ca              pki.CA shared by the TLS registries (cert_path, cert_dir, issue())
  registry_http        plain http, no auth
  registry_tls_basic   https (cert from test_ca for 127.0.0.1 and localhost) + htpasswd bcrypt Basic auth
  registry_token       https + Bearer tokens from a TokenServer (token_server.TokenServer, also https)
  images               images.ImageSet (base, app, platform_images, manifest_list)
  start_registry       (function scope) factory start_registry(tmp_path=None, **kw) -> Registry, stopped after the test
  run_module, run_playbook   ansible_runner helpers
Plain helpers, import them as modules (this directory is put on sys.path):
  from registry_server import free_port, write_authfile, write_registries_conf, start_registry
  from images import push, push_manifest_list, random_layer_image, image_inspect, image_layers
  from tools import podman, skopeo_inspect, secret_scan, CommandError
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

# pylint: disable=wrong-import-position
import ansible_runner  # noqa: E402
import images as images_mod  # noqa: E402
import pki  # noqa: E402
import registry_server  # noqa: E402

CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=1024:4096", "nproc=1024:1024"]

[engine]
# crun fails on this machine's cgroup-v1 hybrid layout
runtime = "runc"
"""


def _os_platform():
    """debian12, debian13, ...: which test platform this is (scripts/test.sh runs the podman tests on two)."""
    fields = {}
    try:
        with open('/etc/os-release') as f:
            for line in f:
                key, _eq, value = line.strip().partition('=')
                fields[key] = value.strip('"')
    except IOError:
        pass
    return '%s%s' % (fields.get('ID', 'unknown'), fields.get('VERSION_ID', '').split('.')[0])


PLATFORM = _os_platform()


def _version_line(argv):
    try:
        out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True,
                             timeout=30, check=False).stdout
    except OSError:
        return 'missing'
    return (out.strip().splitlines() or ['?'])[0]


def pytest_report_header(config):  # pylint: disable=unused-argument
    return 'podkit platform: %s (%s, %s, %s, Python %s)' % (
        PLATFORM, _version_line(['podman', '--version']), _version_line(['skopeo', '--version']),
        _version_line(['systemctl', '--version']), sys.version.split()[0])


def pytest_terminal_summary(terminalreporter):
    # Also with -q, which hides the header: the run's output says which platform its results are from.
    terminalreporter.write_line('podkit platform: %s' % PLATFORM)


def pytest_collection_modifyitems(items):
    # In a junit report (--junitxml) every test case says where it ran.
    for item in items:
        item.user_properties.append(('podkit_platform', PLATFORM))


class PodmanEnv:
    """``containers_conf``: the file CONTAINERS_CONF points at for the whole session; ``dir``: its directory."""

    def __init__(self, directory):
        self.dir = str(directory)
        self.containers_conf = os.path.join(self.dir, 'containers.conf')
        with open(self.containers_conf, 'w') as f:
            f.write(CONTAINERS_CONF)

    def registries_conf(self, name='registries.conf', **kw):
        """Write a registries.conf here (see registry_server.write_registries_conf); export it per command."""
        return registry_server.write_registries_conf(os.path.join(self.dir, name), **kw)


@pytest.fixture(scope='session', autouse=True)
def podman_env(tmp_path_factory):
    env = PodmanEnv(tmp_path_factory.mktemp('podman-env'))
    old = os.environ.get('CONTAINERS_CONF')
    os.environ['CONTAINERS_CONF'] = env.containers_conf
    yield env
    if old is None:
        os.environ.pop('CONTAINERS_CONF', None)
    else:
        os.environ['CONTAINERS_CONF'] = old


@pytest.fixture(scope='session')
def test_ca(tmp_path_factory):
    return pki.CA(tmp_path_factory.mktemp('ca'))


def _session_registry(tmp_path_factory, name, **kw):
    reg = registry_server.start_registry(tmp_path_factory.mktemp(name), **kw)
    return reg


@pytest.fixture(scope='session')
def registry_http(tmp_path_factory):
    reg = _session_registry(tmp_path_factory, 'registry-http')
    yield reg
    reg.stop()


@pytest.fixture(scope='session')
def registry_tls_basic(tmp_path_factory, test_ca):
    reg = _session_registry(tmp_path_factory, 'registry-basic', auth='basic', tls=True, ca=test_ca)
    yield reg
    reg.stop()


@pytest.fixture(scope='session')
def registry_token(tmp_path_factory, test_ca):
    reg = _session_registry(tmp_path_factory, 'registry-token', auth='token', tls=True, ca=test_ca)
    yield reg
    reg.stop()


@pytest.fixture
def start_registry(tmp_path):
    """Factory for fresh, empty registries: ``start_registry(tmp_path=None, **kw)`` (kw as
    registry_server.start_registry); each one lives in its own subdirectory and is stopped after the test."""
    started = []

    def _start(workdir=None, **kw):
        base = str(workdir or tmp_path)
        reg = registry_server.start_registry(os.path.join(base, 'registry-%d' % len(started)), **kw)
        started.append(reg)
        return reg

    yield _start
    for reg in started:
        reg.stop()


@pytest.fixture(scope='session')
def images(podman_env, tmp_path_factory):  # pylint: disable=redefined-outer-name,unused-argument
    return images_mod.ImageSet(tmp_path_factory.mktemp('images'))


@pytest.fixture
def run_module():
    return ansible_runner.run_module


@pytest.fixture
def run_playbook():
    return ansible_runner.run_playbook
