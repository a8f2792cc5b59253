"""Parallel runs of the modules (separate ansible processes, as parallel tasks or hosts on one machine are) that share
one file or one destination: registry_login into one auth file, image_copy into one OCI layout and into one tag."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import json
import os
import stat
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import reliability
from images import push
from registry_server import write_authfile
from tools import secret_scan

PARALLEL = 6


def _parallel(run_module, name, arg_list):
    with ThreadPoolExecutor(max_workers=len(arg_list)) as pool:
        return list(pool.map(lambda args: run_module(name, args), arg_list))


@pytest.fixture(scope='module')
def sources(images, tmp_path_factory):
    """An http registry with PARALLEL different small images (the base, and images of one extra layer each)."""
    import registry_server
    from images import random_layer_image
    workdir = tmp_path_factory.mktemp('concurrency')
    reg = registry_server.start_registry(str(workdir / 'src'))
    pushed = [push(images.base, reg, 'par/img0:1')]
    for i in range(1, PARALLEL):
        name = random_layer_image(64 * 1024, 'podkit-par-%d' % i, workdir=str(workdir))
        pushed.append(push(name, reg, 'par/img%d:1' % i))
    yield reg, pushed
    reg.stop()


def test_parallel_logins_to_one_auth_file(run_module, registry_tls_basic, tmp_path):
    reg = registry_tls_basic
    auth_file = tmp_path / 'containers' / 'auth.json'
    keys = ['%s/team%d' % (reg.host, i) for i in range(PARALLEL - 2)] + [reg.host, reg.localhost]
    runs = _parallel(run_module, 'registry_login', [
        dict(registry=key, username=reg.username, password=reg.password, auth_file=str(auth_file), ca_cert=reg.ca_cert)
        for key in keys])
    for run in runs:
        assert reliability.outcome(run) == 'ok' and run['changed'] is True, run
    stored = json.loads(auth_file.read_text())
    expected = base64.b64encode(('%s:%s' % (reg.username, reg.password)).encode()).decode()
    assert stored == {'auths': {key: {'auth': expected} for key in keys}}
    assert stat.S_IMODE(os.stat(str(auth_file)).st_mode) == 0o600
    # auth.json.lock is the lock registry_login takes (kept: removing a lock file races with its next user).
    assert sorted(os.listdir(str(auth_file.parent))) == ['auth.json', 'auth.json.lock'], 'temporary files left behind'
    assert os.path.getsize(str(auth_file) + '.lock') == 0
    secret_scan(runs, [reg.password])
    reliability.record('concurrency_logins', dict(runs=len(runs), entries=len(stored['auths'])))


def test_parallel_copies_into_one_layout(run_module, sources, tmp_path):
    src, pushed = sources
    layout = str(tmp_path / 'layout')
    auth = write_authfile(tmp_path / 'auth.json', {})
    refs = ['img%d' % i for i in range(PARALLEL)]
    runs = _parallel(run_module, 'image_copy', [
        dict(src='docker://%s/par/%s:1' % (src.host, ref), dest='oci:%s:%s' % (layout, ref), src_insecure=True,
             auth_file=auth) for ref in refs])
    for run in runs:
        assert reliability.outcome(run) == 'ok', run
    assert reliability.layout_problems(layout, refs=refs) == []
    with open(os.path.join(layout, 'index.json')) as f:
        index = json.load(f)
    by_ref = {entry['annotations']['org.opencontainers.image.ref.name']: entry['digest'] for entry in index['manifests']}
    assert by_ref == {ref: run['dest_digest'] for ref, run in zip(refs, runs)}
    reliability.record('concurrency_layout', dict(runs=len(runs), entries=len(by_ref)))


def test_threaded_copies_into_one_layout(sources, tmp_path):
    """The same through the copy engine in threads of one process, which start together at a barrier: without a lock
    around index.json's read-modify-write, about half of the entries were lost this way."""
    from ansible_runner import import_collection
    copy_image = import_collection('plugins.module_utils.copy.engine').copy_image
    options = import_collection('plugins.module_utils.options').RegistryOptions
    src, pushed = sources
    layout = str(tmp_path / 'layout')
    rounds, threads = 3, 10
    errors = []
    for number in range(rounds):
        barrier = threading.Barrier(threads)

        def copy(i, number=number, barrier=barrier):
            barrier.wait()
            try:
                copy_image('docker://%s' % pushed[i % len(pushed)].ref, 'oci:%s:r%d-%d' % (layout, number, i),
                           options(insecure=True), options())
            except Exception as exc:  # pylint: disable=broad-except
                errors.append(exc)
        workers = [threading.Thread(target=copy, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert not errors, errors
    refs = ['r%d-%d' % (number, i) for number in range(rounds) for i in range(threads)]
    assert reliability.layout_problems(layout, refs=refs) == []
    reliability.record('concurrency_layout_threads', dict(runs=len(refs), entries=len(refs)))


def test_parallel_copies_into_one_tag(run_module, sources, start_registry, tmp_path):
    src, pushed = sources
    dest = start_registry()
    auth = write_authfile(tmp_path / 'auth.json', {})
    runs = _parallel(run_module, 'image_copy', [
        dict(src='docker://%s' % p.ref, dest='docker://%s/par/shared:latest' % dest.host, src_insecure=True,
             dest_insecure=True, auth_file=auth) for p in pushed])
    for run in runs:
        assert reliability.outcome(run) == 'ok', run
    assert sorted(run['dest_digest'] for run in runs) == sorted(p.digest for p in pushed)
    tagged = dest.get('/v2/par/shared/manifests/latest', headers={'Accept': reliability.ACCEPT})
    assert tagged.headers['Docker-Content-Digest'] in [p.digest for p in pushed]
    assert reliability.registry_problems(dest) == []
    # Every image that was pushed is complete under its digest, not only the one the tag ended on.
    for p in pushed:
        assert dest.get('/v2/par/shared/manifests/%s' % p.digest, headers={'Accept': reliability.ACCEPT}).status_code == 200
    reliability.record('concurrency_tag', dict(runs=len(runs), images=len(pushed)))
