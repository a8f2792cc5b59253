"""image_pull against real registries and real podman 4.3.1.

Every test pushes images of its own (unique content, so unique image IDs) and removes the local sources before
pulling, so each pull really transfers, and it removes what it pulled afterwards.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import uuid

import pytest

from fault_proxy import MANIFEST, FaultProxy
from images import image_exists, image_inspect, import_rootfs, push, push_manifest_list
from registry_server import free_port
from tools import podman, secret_scan


def _no_traceback(result):
    assert 'Traceback' not in json.dumps(result.result) and 'Traceback' not in result.stderr


def _ok(result):
    assert result.get('failed') is not True, result
    _no_traceback(result)
    return result


@pytest.fixture
def local_images(tmp_path):
    """``make(marker, arch=None, variant=None)`` -> a fresh local image name; everything made or pulled is removed."""
    made = []

    def make(marker, arch=None, variant=None):
        name = 'localhost/podkit-pull/src-%s:1' % uuid.uuid4().hex[:10]
        import_rootfs(name, tmp_path, marker='%s-%s' % (marker, uuid.uuid4().hex), arch=arch, variant=variant)
        made.append(name)
        return name

    make.cleanup = made
    yield make
    for name in made:
        podman('manifest', 'rm', name, check=False)
        podman('rmi', '--ignore', '--force', name, check=False)


def _push_fresh(make, registry, repo_tag, marker, **kw):
    """Push a new unique image to ``repo_tag`` and drop the local source, so a pull has to transfer it."""
    source = make(marker)
    pushed = push(source, registry, repo_tag, **kw)
    podman('rmi', source)
    make.cleanup.append(pushed.ref)
    return pushed


def test_four_steps_then_the_tag_moves(registry_http, local_images, run_module):
    tag = uuid.uuid4().hex[:8]
    first = _push_fresh(local_images, registry_http, 'pull/app:%s' % tag, 'one')
    args = dict(name=first.ref, insecure=True)

    check = _ok(run_module('image_pull', args, check=True, diff=True))
    assert check['changed'] is True and check['pulled'] is False and check['pull_needed'] is True
    assert check['remote_digest'] == first.digest and check['local_digest_before'] is None
    assert check['diff']['before']['id'] is None and check['diff']['after']['id'] == '(to be pulled)'
    assert not image_exists(first.ref), 'check mode pulled'

    apply = _ok(run_module('image_pull', args, diff=True))
    assert apply['changed'] is True and apply['pulled'] is True
    local = image_inspect(first.ref)
    assert apply['image']['id'] == local['Id'] == apply['diff']['after']['id']
    assert apply['image']['digest'] == first.digest
    assert '%s/pull/app@%s' % (registry_http.host, first.digest) in local['RepoDigests']
    assert apply['resolved_name'] == first.ref and 'resolved_from' not in apply.result

    again = _ok(run_module('image_pull', args, check=True, diff=True))
    assert again['changed'] is False and again['pull_needed'] is False
    assert again['diff']['before'] == again['diff']['after']
    assert again['local_digest_before'] == first.digest
    last = _ok(run_module('image_pull', args))
    assert last['changed'] is False and last['pulled'] is False

    # The tag moves to another image: check mode predicts a pull and leaves the local image alone.
    second = _push_fresh(local_images, registry_http, 'pull/app:%s' % tag, 'two')
    assert second.digest != first.digest
    predicted = _ok(run_module('image_pull', args, check=True, diff=True))
    assert predicted['changed'] is True and predicted['pulled'] is False
    assert predicted['remote_digest'] == second.digest and predicted['local_digest_before'] != second.digest
    assert image_inspect(first.ref)['Id'] == local['Id'], 'check mode changed the local image'
    moved = _ok(run_module('image_pull', args, diff=True))
    assert moved['changed'] is True and moved['pulled'] is True
    assert moved['image']['id'] == image_inspect(first.ref)['Id'] != local['Id']
    assert moved['diff']['before']['id'] == local['Id']

    # always: pulls, but the ID did not change.
    always = _ok(run_module('image_pull', dict(args, policy='always')))
    assert always['pulled'] is True and always['changed'] is False
    podman('rmi', '--ignore', first.ref, check=False)


def test_multi_arch_index_vs_index(registry_http, local_images, run_module):
    amd = local_images('amd', arch='amd64')
    arm = local_images('arm', arch='arm64', variant='v8')
    name = 'localhost/podkit-pull/list-%s:1' % uuid.uuid4().hex[:10]
    podman('manifest', 'create', name)
    local_images.cleanup.append(name)
    for image in (amd, arm):
        podman('manifest', 'add', name, 'containers-storage:' + image)
    pushed = push_manifest_list(name, registry_http, 'pull/multi:%s' % uuid.uuid4().hex[:8])
    podman('manifest', 'rm', name)
    podman('rmi', amd, arm)
    local_images.cleanup.append(pushed.ref)

    args = dict(name=pushed.ref, insecure=True, platform='linux/arm64/v8')
    first = _ok(run_module('image_pull', args))
    assert first['changed'] is True and first['remote_digest'] == pushed.digest
    local = image_inspect(pushed.ref)
    assert local['Architecture'] == 'arm64'
    # What podman 4.3.1 records: the index digest next to the instance's manifest digest.
    digests = [d.split('@', 1)[1] for d in local['RepoDigests']]
    assert pushed.digest in digests and len(digests) == 2
    assert first['image']['digest'] == pushed.digest
    again = _ok(run_module('image_pull', args, diff=True))
    assert again['changed'] is False and again['pulled'] is False and again['local_digest_before'] == pushed.digest
    # Another platform for the same tag is out of date.
    other = _ok(run_module('image_pull', dict(args, platform='linux/amd64'), check=True))
    assert other['changed'] is True


def test_tls_basic_registry_with_password(registry_tls_basic, local_images, run_module):
    reg = registry_tls_basic
    pushed = _push_fresh(local_images, reg, 'pull/basic:%s' % uuid.uuid4().hex[:8], 'basic')
    args = dict(name=pushed.ref, username=reg.username, password=reg.password, ca_cert=reg.ca_cert)
    first = _ok(run_module('image_pull', args, diff=True))
    assert first['changed'] is True and first['pulled'] is True
    assert first['image']['id'] == image_inspect(pushed.ref)['Id']
    second = _ok(run_module('image_pull', args, diff=True))
    assert second['changed'] is False
    wrong = run_module('image_pull', dict(args, password='wrong-password-123'))
    assert wrong.get('failed') is True and 'unauthorized' in wrong['msg']
    _no_traceback(wrong)
    for result in (first, second, wrong):
        secret_scan(result, [reg.password, '%s:%s' % (reg.username, reg.password)])


def test_token_registry_with_auth_file_from_registry_login(registry_token, local_images, run_module, tmp_path):
    reg = registry_token
    pushed = _push_fresh(local_images, reg, 'private/pull:%s' % uuid.uuid4().hex[:8], 'token')
    auth_file = tmp_path / 'auth.json'
    _ok(run_module('registry_login', dict(registry=reg.host, username=reg.readonly_username, password=reg.readonly_password,
                                          auth_file=str(auth_file), ca_cert=reg.ca_cert)))
    args = dict(name=pushed.ref, auth_file=str(auth_file), ca_cert=reg.ca_cert)
    check = _ok(run_module('image_pull', args, check=True))
    assert check['changed'] is True and not image_exists(pushed.ref)
    first = _ok(run_module('image_pull', args))
    assert first['pulled'] is True and image_exists(pushed.ref)
    assert _ok(run_module('image_pull', args))['changed'] is False
    secret_scan([check, first], [reg.readonly_password])


def test_short_name_through_registries_conf(registry_http, local_images, run_module, podman_env):
    tag = uuid.uuid4().hex[:8]
    pushed = _push_fresh(local_images, registry_http, 'pull/short:%s' % tag, 'short')
    conf = podman_env.registries_conf('pull-%s.conf' % tag, unqualified_search=[registry_http.host],
                                      registries=[{'location': registry_http.host, 'insecure': True}])
    args = dict(name='pull/short:%s' % tag, registries_conf=conf)
    first = _ok(run_module('image_pull', args))
    assert first['resolved_name'] == pushed.ref and first['resolved_from'] == 'search'
    assert first['changed'] is True and first['remote_digest'] == pushed.digest
    assert image_inspect(pushed.ref)['Id'] == first['image']['id']
    assert _ok(run_module('image_pull', args))['changed'] is False


def test_bad_input_and_offline(registry_http, local_images, run_module):
    host = registry_http.host
    missing = run_module('image_pull', dict(name='%s/pull/absent:1' % host, insecure=True))
    assert missing.get('failed') is True and 'not found' in missing['msg'] and 'pull/absent' in missing['msg']
    bad_tag = run_module('image_pull', dict(name='%s/pull/absent' % host, tag='bad tag', insecure=True))
    assert bad_tag.get('failed') is True and 'tag' in bad_tag['msg']

    # A local image whose registry is gone: missing works offline, newer says what is wrong.
    source = local_images('offline')
    gone = '127.0.0.1:%d/pull/offline:%s' % (free_port(), uuid.uuid4().hex[:8])
    podman('tag', source, gone)
    local_images.cleanup.append(gone)
    offline = _ok(run_module('image_pull', dict(name=gone, policy='missing', insecure=True)))
    assert offline['changed'] is False and offline['remote_digest'] is None
    assert offline['image']['id'] == image_inspect(source)['Id']
    newer = run_module('image_pull', dict(name=gone, policy='newer', insecure=True, timeout=5))
    assert newer.get('failed') is True and 'cannot connect' in newer['msg']

    nopodman = run_module('image_pull', dict(name='%s/pull/absent:1' % host, insecure=True, executable='/nonexistent/podman'))
    assert nopodman.get('failed') is True and 'podman is not installed' in nopodman['msg']
    for result in (missing, bad_tag, newer, nopodman):
        _no_traceback(result)


def test_dest_oci_layout(registry_http, local_images, run_module, tmp_path):
    pushed = _push_fresh(local_images, registry_http, 'pull/oci:%s' % uuid.uuid4().hex[:8], 'oci')
    dest = 'oci:%s:app' % os.path.join(str(tmp_path), 'layout')
    args = dict(name=pushed.ref, insecure=True, dest=dest)
    check = _ok(run_module('image_pull', args, check=True))
    assert check['changed'] is True and not os.path.exists(str(tmp_path / 'layout' / 'index.json'))
    first = _ok(run_module('image_pull', args))
    assert first['changed'] is True and first['pulled'] is True and first['remote_digest'] == pushed.digest
    index = json.loads((tmp_path / 'layout' / 'index.json').read_text())
    assert [m['annotations']['org.opencontainers.image.ref.name'] for m in index['manifests']] == ['app']
    assert _ok(run_module('image_pull', args))['changed'] is False
    assert _ok(run_module('image_pull', dict(args, policy='missing', name='127.0.0.1:%d/x:1' % free_port())))['changed'] is False


def test_pull_through_a_registry_whose_manifest_head_says_404(registry_http, local_images, run_module):
    """Older Harbor proxy caches: HEAD 404, GET 200. image_pull asks with GET then and pulls; the next run is ok."""
    tag = uuid.uuid4().hex[:8]
    pushed = _push_fresh(local_images, registry_http, 'pull/harbor:%s' % tag, 'harbor')
    with FaultProxy(registry_http) as proxy:
        name = '%s/pull/harbor:%s' % (proxy.host, tag)
        local_images.cleanup.append(name)
        proxy.add('status', method='HEAD', path=MANIFEST, times=None, status=404)
        apply = _ok(run_module('image_pull', dict(name=name, insecure=True)))
        assert apply['changed'] is True and apply['pulled'] is True and apply['remote_digest'] == pushed.digest
        again = _ok(run_module('image_pull', dict(name=name, insecure=True)))
        assert again['changed'] is False and again['pull_needed'] is False, json.dumps(again.result)
        assert any(entry[0] == 'HEAD' and entry[2] == 'status' for entry in proxy.log)
    assert image_inspect(name)['Digest'] == pushed.digest
