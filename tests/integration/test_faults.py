"""Faults injected between the modules and real registries (fault_proxy.FaultProxy on the source and the destination).

test_fault_loop: a seeded loop of PODKIT_FAULT_TRIALS (default 60) trials; the seed is printed and can be set with
PODKIT_FAULT_SEED. The first trials take each fault kind of FAULTS once, the rest pick one or two at random. Each
trial runs image_copy, image_info or image_pull (to an OCI layout) in this process through the module's main()
(run_module_inprocess: the loop stays within a couple of minutes), then asserts: the run succeeded with the digest
a fault-free run gives, or failed with a one-line msg (never a traceback); faults a retry must absorb did not fail
it; every manifest at every destination references only blobs that exist; a failed run leaves nothing that keeps
the same run, without faults, from succeeding; a redirected request reached the other origin without credentials.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import random
import time

import pytest

import registry_server
import reliability
from ansible_runner import run_module_inprocess
from fault_proxy import BLOB, MANIFEST, PING, TAGS, UPLOAD, FaultProxy, received_text
from images import push, push_manifest_list, random_layer_image
from registry_server import write_authfile
from tools import secret_scan

TIMEOUT = 3.0
# (kind, method, path, params, must): ``must`` faults are what a retry absorbs, so the run has to succeed. A path of
# None with method None hits whatever request comes next. Side 'src', 'dest' or 'any'.
FAULTS = [
    ('reset_before', None, None, {}, True, 'any'),
    ('reset', 'GET', BLOB, {}, True, 'src'),
    ('reset', 'GET', MANIFEST, {}, True, 'src'),
    ('truncate', 'GET', BLOB, {}, True, 'src'),
    ('truncate', 'GET', MANIFEST, {}, True, 'src'),
    ('status', None, MANIFEST, {'status': 503}, True, 'any'),
    ('status', 'HEAD', BLOB, {'status': 500}, True, 'dest'),
    ('status', 'PUT', UPLOAD, {'status': 502}, True, 'dest'),
    ('status', 'GET', BLOB, {'status': 504}, True, 'src'),
    ('retry_after', None, MANIFEST, {'seconds': 1}, True, 'any'),
    ('retry_after', 'POST', UPLOAD, {'seconds': 1}, True, 'dest'),
    ('slow', None, MANIFEST, {'delay': 0.8}, True, 'any'),
    ('slow', 'GET', BLOB, {'delay': TIMEOUT + 0.7}, True, 'src'),
    ('lost', 'GET', PING, {}, True, 'any'),
    ('lost', 'HEAD', MANIFEST, {}, True, 'dest'),
    ('lost', 'POST', UPLOAD, {}, True, 'dest'),
    ('lost', 'PUT', UPLOAD, {}, True, 'dest'),
    ('lost', 'PUT', MANIFEST, {}, True, 'dest'),
    ('redirect', 'GET', BLOB, {}, True, 'src'),
    ('redirect', 'GET', MANIFEST, {}, True, 'src'),
    ('redirect', 'HEAD', MANIFEST, {}, True, 'dest'),
    ('corrupt', 'GET', BLOB, {}, False, 'src'),
    ('corrupt', 'GET', MANIFEST, {}, False, 'src'),
    ('corrupt_request', 'PUT', UPLOAD, {}, False, 'dest'),
    # Persistent: the run may only fail, clearly.
    ('status', None, BLOB, {'status': 503, 'times': None}, False, 'any'),
    ('reset_before', None, MANIFEST, {'times': None}, False, 'any'),
    ('lost', 'PUT', None, {'times': None}, False, 'dest'),
    # Every answer to the manifest PUT lost while the destination holds the complete image: a HEAD tells, so the
    # run must succeed (issue 12, "a lost manifest-PUT response is checked with a HEAD before reporting failure").
    ('lost', 'PUT', MANIFEST, {'times': None}, True, 'dest'),
    # Listing tags forbidden (AWS ECR without ecr:ListImages): image_info warns and goes on, as skopeo does.
    ('status', 'GET', TAGS, {'status': 403, 'times': None, 'op': 'info'}, True, 'src'),
    # A registry that refuses every PUT with a body (older Pulp): the chunked upload of the distribution spec.
    ('status', 'PUT', UPLOAD, {'status': 415, 'times': None, 'body': True}, True, 'dest'),
    ('status', 'PUT', UPLOAD, {'status': 400, 'times': None, 'body': True}, True, 'dest'),
    # A manifest HEAD answered 404 while GET serves it (older Harbor proxy caches): asked again with GET.
    ('status', 'HEAD', MANIFEST, {'status': 404, 'times': None, 'op': 'pull'}, True, 'src'),
]
SOURCE_IMAGES = ('small', 'oci', 'multi')


def _seed():
    text = os.environ.get('PODKIT_FAULT_SEED')
    return int(text) if text else random.SystemRandom().randrange(1, 10 ** 6)


class World:
    """Two sources (http, https+htpasswd), two destination registries (same two kinds), a proxy in front of each,
    an OCI layout; the expected digests of fault-free runs."""

    def __init__(self, workdir, images, ca):
        self.workdir = str(workdir)
        self.registries = {
            'src-http': registry_server.start_registry(os.path.join(self.workdir, 'src-http')),
            'src-tls': registry_server.start_registry(os.path.join(self.workdir, 'src-tls'), auth='basic', tls=True, ca=ca),
            'dest-http': registry_server.start_registry(os.path.join(self.workdir, 'dest-http')),
            'dest-tls': registry_server.start_registry(os.path.join(self.workdir, 'dest-tls'), auth='basic', tls=True, ca=ca),
        }
        self.proxies = {name: FaultProxy(reg, ca=ca) for name, reg in self.registries.items()}
        self.ca = ca
        self.layout = os.path.join(self.workdir, 'layout')
        self.authfile = write_authfile(os.path.join(self.workdir, 'empty-auth.json'), {})
        small = random_layer_image(3 * 256 * 1024, 'podkit-faults', layers=3, workdir=self.workdir)
        self.pushed = {}
        for side in ('src-http', 'src-tls'):
            reg = self.registries[side]
            self.pushed[(side, 'small')] = push(small, reg, 'src/small:1')
            self.pushed[(side, 'oci')] = push(images.base, reg, 'src/oci:1', format='oci')
            self.pushed[(side, 'multi')] = push_manifest_list(images.manifest_list, reg, 'src/multi:1')
        self.passwords = [reg.password for reg in self.registries.values() if reg.password]
        self.secrets = self.passwords + ['%s:%s' % reg.creds() for reg in self.registries.values() if reg.password]
        self._expected = {}

    def stop(self):
        for proxy in self.proxies.values():
            proxy.stop()
        for reg in self.registries.values():
            reg.stop()

    def side_args(self, name, prefix=''):
        reg = self.registries[name]
        args = {}
        if reg.tls:
            args.update({prefix + 'ca_cert': self.ca.cert_path, prefix + 'username': reg.username,
                         prefix + 'password': reg.password})
        else:
            args[prefix + 'insecure'] = True
        return args

    def copy_args(self, src, image, dest, ref, multi_arch, via_proxy=True):
        host = (lambda name: self.proxies[name].host) if via_proxy else (lambda name: self.registries[name].host)
        args = dict(src='docker://%s/src/%s:1' % (host(src), image), auth_file=self.authfile, timeout=TIMEOUT,
                    multi_arch=multi_arch)
        args.update(self.side_args(src, 'src_'))
        if dest == 'layout':
            args['dest'] = 'oci:%s:%s' % (self.layout, ref)
        else:
            args['dest'] = 'docker://%s/%s' % (host(dest), ref)
            args.update(self.side_args(dest, 'dest_'))
        return args

    def expected_copy(self, src, image, dest, multi_arch):
        """dest_digest of a fault-free copy (straight to the registries, into a scratch repository or layout)."""
        key = (src, image, 'layout' if dest == 'layout' else 'registry', multi_arch)
        if key not in self._expected:
            scratch = 'reference/%s-%s-%s:1' % (src, image, multi_arch)
            args = self.copy_args(src, image, dest, scratch, multi_arch, via_proxy=False)
            if dest == 'layout':
                args['dest'] = 'oci:%s:%s-%s-%s' % (os.path.join(self.workdir, 'reference-layout'), src, image, multi_arch)
            run = run_module_inprocess('image_copy', args)
            assert reliability.outcome(run) == 'ok', run
            self._expected[key] = run['dest_digest']
        return self._expected[key]


@pytest.fixture(scope='module')
def world(tmp_path_factory, images, test_ca):
    w = World(tmp_path_factory.mktemp('faults'), images, test_ca)
    yield w
    w.stop()


class Trial:
    def __init__(self, number, rng, world, forced=None):
        self.number = number
        self.op = rng.choice(['copy'] * 7 + ['info'] * 2 + ['pull'] * 2)
        self.src = rng.choice(['src-http', 'src-tls'])
        self.image = rng.choice(SOURCE_IMAGES)
        self.multi_arch = rng.choice(['system', 'all']) if self.image == 'multi' and self.op == 'copy' else 'system'
        self.dest = rng.choice(['dest-http', 'dest-tls', 'layout']) if self.op == 'copy' else None
        picks = [forced] if forced is not None else rng.sample(FAULTS, rng.choice([1, 1, 2]))
        for pick in picks:
            if 'op' in pick[3]:  # a fault only one module meets
                self.op, self.dest = pick[3]['op'], None
        self.faults = []
        for kind, method, path, params, must, side in picks:
            params = dict(params)
            times = params.pop('times', 1)
            body = params.pop('body', None)
            params.pop('op', None)
            if side == 'any':
                side = rng.choice(['src', 'dest']) if self.op == 'copy' and self.dest != 'layout' else 'src'
            if side == 'dest' and (self.op != 'copy' or self.dest == 'layout'):
                # A destination fault needs a registry destination: make this a copy to one.
                self.op, self.dest = 'copy', rng.choice(['dest-http', 'dest-tls'])
            if body is not None:
                params['body'] = body
            self.faults.append((side, kind, method, path, times, params, must))
        self.must = all(f[6] for f in self.faults)
        self.ref = 'trial/t%03d:%s' % (number, self.image)
        self.layout_ref = 't%03d-%s' % (number, self.image)

    def describe(self):
        faults = ', '.join('%s:%s %s %s x%s%s' % (side, kind, method or '*', path or '*', times, params or '')
                           for side, kind, method, path, times, params, _must in self.faults)
        return 'trial %d: %s %s/%s -> %s [%s]' % (self.number, self.op, self.src, self.image, self.dest, faults)

    def arm(self, world):
        for side, kind, method, path, times, params, _must in self.faults:
            name = self.src if side == 'src' else self.dest
            world.proxies[name].add(kind, method=method, path=path, times=times, **params)

    def run(self, world, via_proxy=True):
        if self.op == 'copy':
            ref = self.layout_ref if self.dest == 'layout' else self.ref
            args = world.copy_args(self.src, self.image, self.dest, ref, self.multi_arch, via_proxy=via_proxy)
            return run_module_inprocess('image_copy', args), world.expected_copy(self.src, self.image, self.dest,
                                                                                 self.multi_arch), 'dest_digest'
        host = world.proxies[self.src].host if via_proxy else world.registries[self.src].host
        args = dict(name='%s/src/%s:1' % (host, self.image), auth_file=world.authfile, timeout=TIMEOUT)
        args.update(world.side_args(self.src))
        expected = world.pushed[(self.src, self.image)].digest
        if self.op == 'info':
            return run_module_inprocess('image_info', args), expected, 'digest'
        args['dest'] = 'oci:%s:pull-%s' % (world.layout, self.layout_ref)
        return run_module_inprocess('image_pull', args), expected, 'remote_digest'


def test_fault_loop(world):
    seed = _seed()
    trials = int(os.environ.get('PODKIT_FAULT_TRIALS', '60'))
    print('fault loop seed: %d (set PODKIT_FAULT_SEED=%d to repeat), %d trials' % (seed, seed, trials))
    rng = random.Random(seed)
    figures = dict(seed=seed, trials=0, passed=0, clear_failures=0, tracebacks=0, leaks=0, invariant_violations=0,
                   must_succeed_failures=0, wrong_digests=0, faults_fired=0, redirects_checked=0, by_kind={})
    problems = []
    seen = {name: {} for name in ('dest-http', 'dest-tls', 'layout')}
    seen['layout'] = set()
    for number in range(trials):
        trial = Trial(number, rng, world, forced=FAULTS[number] if number < len(FAULTS) else None)
        for proxy in world.proxies.values():
            proxy.clear()
        trial.arm(world)
        started = time.time()
        run, expected, key = trial.run(world)
        ran = time.time() - started
        fired = [f for proxy in world.proxies.values() for f in proxy.fired]
        figures['trials'] += 1
        figures['faults_fired'] += len(fired)
        kind = reliability.outcome(run)
        figures[{'ok': 'passed', 'clear': 'clear_failures', 'traceback': 'tracebacks'}[kind]] += 1
        for f in trial.faults:
            stats = figures['by_kind'].setdefault(f[1], {'trials': 0, 'passed': 0})
            stats['trials'] += 1
            stats['passed'] += kind == 'ok'
        found = []
        problem = reliability.result_problem(run, expected, key, must_succeed=trial.must)
        if problem:
            found.append(problem)
            figures['must_succeed_failures'] += problem.startswith('failed although')
            figures['wrong_digests'] += problem.startswith('succeeded with')
        try:
            secret_scan(run, world.secrets)
        except AssertionError as exc:
            figures['leaks'] += 1
            found.append('result: %s' % exc)
        for proxy in world.proxies.values():
            if proxy.other.received:
                figures['redirects_checked'] += 1
                try:
                    assert not any(k.lower() in ('authorization', 'cookie') for _m, _p, headers in proxy.other.received
                                   for k, _v in headers), 'Authorization sent to another origin'
                    secret_scan(received_text(proxy.other), world.secrets)
                except AssertionError as exc:
                    figures['leaks'] += 1
                    found.append('other origin of %s: %s' % (proxy, exc))
        invariant = []
        for name in ('dest-http', 'dest-tls'):
            touched = [trial.ref.split(':')[0]] if trial.dest == name else []
            invariant += reliability.registry_problems(world.registries[name], seen[name], touched)
        invariant += reliability.layout_problems(world.layout, seen=seen['layout'])
        if invariant:
            figures['invariant_violations'] += len(invariant)
            found += invariant
        print('%5.1fs run, %5.1fs checks: %s -> %s' % (ran, time.time() - started - ran, trial.describe(), kind))
        if kind != 'ok':
            for proxy in world.proxies.values():
                proxy.clear()
            again, expected, key = trial.run(world, via_proxy=True)
            problem = reliability.result_problem(again, expected, key, must_succeed=True)
            if problem:
                found.append('the same run without faults: %s' % problem)
        if found:
            detail = '\n    '.join(found)
            problems.append('%s (fired: %s; result: %s)\n    %s' % (trial.describe(), fired, run.get('msg', 'ok'), detail))
    final = []
    for name in ('dest-http', 'dest-tls'):
        final += reliability.registry_problems(world.registries[name])
    final += reliability.layout_problems(world.layout)
    if final:
        figures['invariant_violations'] += len(final)
        problems.append('after the last trial, a full walk of the destinations:\n    ' + '\n    '.join(final))
    figures['problems'] = len(problems)
    reliability.record('fault_loop', figures)
    print('fault loop figures: %s' % figures)
    assert not problems, 'seed %d: %d trial(s) went wrong:\n%s' % (seed, len(problems), '\n'.join(problems))
    assert figures['faults_fired'] >= figures['trials'] // 2, 'the faults hardly fired: the proxy is not in the path'
    assert figures['trials'] >= 50


def test_proxy_does_what_each_kind_says(world):
    """The loop is only as good as its faults: each kind, seen by a plain HTTP client."""
    import requests
    reg = world.registries['src-tls']
    proxy = world.proxies['src-tls']
    pushed = world.pushed[('src-tls', 'small')]
    manifest = reg.get('/v2/src/small/manifests/1', auth=reg.creds(), headers={'Accept': reliability.ACCEPT})
    layer = max(manifest.json()['layers'], key=lambda item: item['size'])
    blob_path = '/v2/src/small/blobs/%s' % layer['digest']
    original = reg.get(blob_path, auth=reg.creds()).content
    kw = dict(auth=reg.creds(), verify=world.ca.cert_path, timeout=10, headers={'Accept': reliability.ACCEPT})
    try:
        proxy.clear()
        proxy.add('status', path=BLOB, status=502)
        assert requests.get(proxy.url + blob_path, **kw).status_code == 502
        proxy.add('retry_after', path=BLOB, seconds=7)
        resp = requests.get(proxy.url + blob_path, **kw)
        assert resp.status_code == 429 and resp.headers['Retry-After'] == '7'
        for kind in ('reset', 'truncate', 'reset_before'):
            proxy.add(kind, path=BLOB)
            with pytest.raises(requests.exceptions.RequestException):
                requests.get(proxy.url + blob_path, **kw).content  # pylint: disable=expression-not-assigned
        proxy.add('corrupt', path=BLOB)
        body = requests.get(proxy.url + blob_path, **kw).content
        assert len(body) == len(original) and sum(a != b for a, b in zip(body, original)) == 1
        proxy.add('slow', path=BLOB, delay=1.0)
        started = time.time()
        assert requests.get(proxy.url + blob_path, **kw).content == original
        assert time.time() - started >= 1.0
        proxy.add('redirect', path=BLOB)
        resp = requests.get(proxy.url + blob_path, allow_redirects=False, **kw)
        assert resp.status_code == 307 and resp.headers['Location'].startswith(proxy.other.url)
        assert requests.get(resp.headers['Location'], verify=world.ca.cert_path, timeout=10).content == original
        # lost: the registry acts on the request; only the answer goes missing.
        proxy.add('lost', method='PUT', path=MANIFEST)
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.put(proxy.url + '/v2/src/small/manifests/lost', data=manifest.content,
                         **dict(kw, headers={'Content-Type': manifest.headers['Content-Type']}))
        assert reg.get('/v2/src/small/manifests/lost', auth=reg.creds(), headers={'Accept': reliability.ACCEPT}).content \
            == manifest.content
        assert [kind for kind, _m, _p in proxy.fired] == ['status', 'retry_after', 'reset', 'truncate', 'reset_before',
                                                          'corrupt', 'slow', 'redirect', 'lost']
        assert pushed.digest == manifest.headers['Docker-Content-Digest']
    finally:
        proxy.clear()


def test_redirect_to_another_origin_carries_no_credentials(world):
    """Every manifest and blob GET of an authenticated https source is redirected to another origin: the copy
    succeeds, and that origin saw neither an Authorization header nor the password in any form."""
    proxy = world.proxies['src-tls']
    proxy.clear()
    proxy.add('redirect', method='GET', path=BLOB, times=None)
    proxy.add('redirect', method='GET', path=MANIFEST, times=None)
    try:
        args = world.copy_args('src-tls', 'small', 'dest-http', 'redirected/small:1', 'system')
        run = run_module_inprocess('image_copy', args)
        assert reliability.outcome(run) == 'ok', run
        assert run['dest_digest'] == world.pushed[('src-tls', 'small')].digest
        received = proxy.other.received
        assert len([1 for method, path, _h in received if method == 'GET']) >= 4  # manifest, config, 3+ layers
        for method, path, headers in received:
            names = [k.lower() for k, _v in headers]
            assert 'authorization' not in names and 'cookie' not in names, (method, path, headers)
        secret_scan(received_text(proxy.other), world.secrets)
        assert reliability.registry_problems(world.registries['dest-http'], repositories=['redirected/small']) == []
    finally:
        proxy.clear()


def test_tag_list_forbidden_warns(world):
    """A registry that lets a user pull but not list tags (AWS ECR without ecr:ListImages): image_info succeeds with
    no tags and a warning, as skopeo does, instead of failing."""
    proxy = world.proxies['src-tls']
    proxy.clear()
    proxy.add('status', method='GET', path=TAGS, times=None, status=403)
    try:
        args = dict(name='%s/src/small:1' % proxy.host, auth_file=world.authfile, **world.side_args('src-tls'))
        run = run_module_inprocess('image_info', args)
    finally:
        proxy.clear()
    assert reliability.outcome(run) == 'ok', run
    assert run['digest'] == world.pushed[('src-tls', 'small')].digest and run['repo_tags'] == []
    warnings = json.dumps(run.get('warnings'))  # in-process, ansible-core 2.19 keeps them as structured summaries
    assert 'forbidden' in warnings and 'repo_tags is empty' in warnings, warnings
