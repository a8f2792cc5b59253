"""roles/image_mirror end to end: two images from a plain-http registry (anonymous) to a TLS + htpasswd mirror (its own
user, password and CA), through ansible-playbook as a user runs it.

First run: both copied, the summary says so, and skopeo finds the same digests in the mirror. Second run: both
already current, nothing changed. The mirror's password never appears in what Ansible prints.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import stat
import uuid

from ansible_runner import task_results
from images import push, random_layer_image
from tools import secret_scan, skopeo_inspect

PLAYBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'playbooks', 'image_mirror.yml')


def _task(parsed, name):
    """The result of the role task called ``name`` (the json callback prefixes the role)."""
    for key, value in task_results(parsed).items():
        if key.split(' : ', 1)[-1] == name:
            return value
    raise AssertionError('no task %r in %s' % (name, sorted(task_results(parsed))))


def _mirror(run_playbook, extra_vars, password):
    parsed, proc = run_playbook(PLAYBOOK, extra_vars=extra_vars)
    out = proc.stdout + proc.stderr
    assert 'Traceback' not in out, out[-4000:]
    stats = parsed['stats']['localhost']
    assert proc.returncode == 0 and stats['failures'] == 0, out[-6000:]
    secret_scan([proc.stdout, proc.stderr], password)
    summary = _task(parsed, 'Summarize what was copied and what was already current')['ansible_facts']['image_mirror_summary']
    shown = _task(parsed, 'Show the summary')['msg']
    copies = [r['changed'] for r in _task(parsed, 'Copy each image to the mirror')['results']]
    return summary, shown, stats['changed'], copies


def test_mirror_two_images_then_current(run_playbook, images, registry_http, registry_tls_basic, tmp_path):
    ns = 'mirror-%s' % uuid.uuid4().hex[:6]
    # one Docker v2s2 and one OCI manifest (an image of its own: other tests sign the shared base image)
    other = random_layer_image(256 * 1024, 'podkit-mirror', workdir=str(tmp_path))
    sources = [push(images.app, registry_http, 'mirrorsrc/app:1'), push(other, registry_http, 'mirrorsrc/data:1', format='oci')]
    dests = ['%s/%s/mirrorsrc/app:1' % (registry_tls_basic.host, ns), '%s/%s/mirrorsrc/data:1' % (registry_tls_basic.host, ns)]
    auth_file = str(tmp_path / 'auth.json')
    evars = {
        'image_mirror_registry': registry_tls_basic.host,
        'image_mirror_namespace': ns,
        'image_mirror_images': [{'src': src.ref} for src in sources],
        'image_mirror_auth_file': auth_file,
        # the mirror: its own user and password, TLS with the test CA
        'image_mirror_username': registry_tls_basic.username,
        'image_mirror_password': registry_tls_basic.password,
        'image_mirror_ca_cert': registry_tls_basic.ca_cert,
        # the source: plain http, anonymous (no source user: no login there)
        'image_mirror_src_insecure': True,
    }

    summary, shown, changed, copies = _mirror(run_playbook, evars, registry_tls_basic.password)
    assert changed == 2 and copies == [True, True], (changed, copies)   # the login, the copy loop (both items)
    assert sorted(summary['copied']) == sorted(dests) and summary['current'] == [], summary
    assert shown[0].startswith('copied (2): ') and shown[1] == 'already current (0): ', shown
    assert oct(stat.S_IMODE(os.stat(auth_file).st_mode)) == oct(0o600)
    assert registry_http.host not in json.loads(open(auth_file).read())['auths'], 'logged in to the anonymous source'
    for src, dest in zip(sources, dests):
        mirrored = skopeo_inspect(dest, tls_verify=True, authfile=auth_file, cert_dir=registry_tls_basic.cert_dir)
        original = skopeo_inspect(src.ref)
        assert mirrored['Digest'] == original['Digest'] == src.digest == summary['digests'][dest]
        assert mirrored['Layers'] == original['Layers']

    summary, shown, changed, copies = _mirror(run_playbook, evars, registry_tls_basic.password)
    assert changed == 0 and copies == [False, False], (changed, copies, summary)
    assert summary['copied'] == [] and sorted(summary['current']) == sorted(dests), summary
    assert shown[0] == 'copied (0): ' and shown[1].startswith('already current (2): '), shown
    assert [summary['digests'][dest] for dest in dests] == [src.digest for src in sources]
