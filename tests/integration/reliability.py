"""Checks shared by the fault, concurrency and leak tests, and the figures they leave for docs/reliability.md.

Invariants (each returns a list of problems, empty when it holds):
  registry_problems(reg, seen)   every manifest a registry holds (tags and untagged revisions, walked through a
                                 direct connection) exists, hashes to its digest, and references only blobs that exist
  layout_problems(root)          an OCI layout's index.json is valid and every descriptor reachable from it exists
                                 with its size and digest; no temporary files are left
  result_problem(run, ...)       a module run either succeeded (with the expected digest) or failed with a one-line
                                 msg; never a traceback
Figures: record(section, figures) merges a section into the JSON file PODKIT_RELIABILITY_FIGURES names (nothing
without it); scripts/reliability.sh runs the tests with it set and renders docs/reliability.md from the file.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import fcntl
import hashlib
import json
import os
import time

import requests

INDEX_TYPES = ('application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json')
MANIFEST_TYPES = INDEX_TYPES + ('application/vnd.oci.image.manifest.v1+json',
                                'application/vnd.docker.distribution.manifest.v2+json')
ACCEPT = ', '.join(MANIFEST_TYPES)


def _sha256(data):
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def _children(manifest):
    """(manifests, blobs) descriptors a manifest or index references."""
    if manifest.get('mediaType') in INDEX_TYPES or ('manifests' in manifest and 'layers' not in manifest):
        return list(manifest.get('manifests') or []), []
    blobs = list(manifest.get('layers') or [])
    if manifest.get('config'):
        blobs.insert(0, manifest['config'])
    return [], blobs


def _revisions(reg, repo):
    path = os.path.join(reg.root, 'docker', 'registry', 'v2', 'repositories', repo, '_manifests', 'revisions', 'sha256')
    try:
        return ['sha256:' + name for name in os.listdir(path)]
    except OSError:
        return []


def registry_problems(reg, seen=None, repositories=None):
    """Walk ``reg`` (a registry_server.Registry) directly: catalog, tags, untagged revisions on disk, manifests, blobs.

    ``seen``: a dict shared between calls; manifests verified once are content-addressed and not fetched again.
    ``repositories``: walk only these, plus every repository that was not there at the previous call with the same
    ``seen`` (a run writes only to its destination repository; a final call without it walks everything).
    """
    seen = {} if seen is None else seen
    verified = seen.setdefault('verified', set())
    known = seen.setdefault('repositories', set())
    problems = []
    auth = reg.creds()
    session = requests.Session()
    session.auth = auth

    def get(path, method='GET'):
        # verify per request: REQUESTS_CA_BUNDLE would override a Session's (requests#3829)
        return session.request(method, reg.url + path, headers={'Accept': ACCEPT}, timeout=30, verify=reg.verify)

    resp = get('/v2/_catalog?n=1000')  # distribution's page limit; the repositories on disk are added below
    if resp.status_code != 200:
        return ['%s: catalog answered %d' % (reg.host, resp.status_code)]
    present = set(resp.json().get('repositories') or []) | set(reg.repositories())
    repos = present if repositories is None else (set(repositories) | (present - known)) & present
    known.update(present)

    def check_manifest(repo, digest, via):
        if (repo, digest) in verified:
            return
        got = get('/v2/%s/manifests/%s' % (repo, digest))
        if got.status_code != 200:
            problems.append('%s/%s@%s (%s): manifest answered %d' % (reg.host, repo, digest, via, got.status_code))
            return
        if _sha256(got.content) != digest:
            problems.append('%s/%s@%s (%s): manifest hashes to %s' % (reg.host, repo, digest, via, _sha256(got.content)))
            return
        manifests, blobs = _children(got.json())
        for child in manifests:
            check_manifest(repo, child['digest'], 'child of %s' % digest)
        for blob in blobs:
            if (repo, blob['digest']) in verified:
                continue
            head = get('/v2/%s/blobs/%s' % (repo, blob['digest']), method='HEAD')
            if head.status_code != 200:
                problems.append('%s/%s@%s (%s): references blob %s, which answers %d'
                                % (reg.host, repo, digest, via, blob['digest'], head.status_code))
            elif 'size' in blob and int(head.headers.get('Content-Length', -1)) != blob['size']:
                problems.append('%s/%s@%s: blob %s has %s bytes, the manifest says %d'
                                % (reg.host, repo, digest, blob['digest'], head.headers.get('Content-Length'), blob['size']))
            else:
                verified.add((repo, blob['digest']))
        verified.add((repo, digest))

    for repo in sorted(repos):
        tags = get('/v2/%s/tags/list' % repo)
        names = (tags.json().get('tags') or []) if tags.status_code == 200 else []
        for tag in names:
            got = get('/v2/%s/manifests/%s' % (repo, tag), method='HEAD')
            digest = got.headers.get('Docker-Content-Digest')
            if got.status_code != 200 or not digest:
                problems.append('%s/%s:%s: tagged manifest answered %d' % (reg.host, repo, tag, got.status_code))
                continue
            check_manifest(repo, digest, 'tag %s' % tag)
        for digest in _revisions(reg, repo):
            check_manifest(repo, digest, 'revision')
    return problems


def leftovers(root):
    """Temporary files and staging directories under ``root`` (what a finished run must not leave)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            if name.startswith(('.tmp', '.stage-')) or name.endswith('.tmp'):
                found.append(os.path.relpath(os.path.join(dirpath, name), root))
    return sorted(found)


def layout_problems(root, refs=(), seen=None):
    """An OCI layout at ``root`` is consistent; ``refs``: org.opencontainers.image.ref.name values that must be there.
    ``seen``: a set shared between calls, of blobs already verified (content-addressed: not hashed again)."""
    seen = set() if seen is None else seen
    problems = []
    index_path = os.path.join(root, 'index.json')
    if not os.path.exists(index_path):
        blobs = os.path.join(root, 'blobs')
        if os.path.isdir(blobs) and any(files for _d, _s, files in os.walk(blobs)):
            problems.append('%s: blobs without an index.json' % root)
        return problems + ['%s: leftover %s' % (root, name) for name in leftovers(root)]
    try:
        with open(index_path, 'rb') as f:
            index = json.loads(f.read().decode('utf-8'))
    except ValueError as exc:
        return ['%s: index.json is not valid JSON (%s)' % (root, exc)]
    if not isinstance(index, dict) or not isinstance(index.get('manifests'), list):
        return ['%s: index.json has no manifests list' % root]
    names = set()

    def blob(desc, via):
        digest = desc.get('digest', '')
        path = os.path.join(root, 'blobs', *digest.split(':', 1))
        if not os.path.isfile(path):
            problems.append('%s: %s references %s, which is missing' % (root, via, digest))
            return None
        if digest in seen and desc.get('mediaType', '') not in MANIFEST_TYPES:
            return b''
        with open(path, 'rb') as f:
            data = f.read()
        if _sha256(data) != digest or ('size' in desc and len(data) != desc['size']):
            problems.append('%s: blob %s (from %s) has the wrong content or size' % (root, digest, via))
            return None
        seen.add(digest)
        return data

    def walk(desc, via):
        data = blob(desc, via)
        if not data:
            return
        manifests, blobs = _children(json.loads(data.decode('utf-8')))
        for child in manifests:
            walk(child, desc['digest'])
        for item in blobs:
            blob(item, desc['digest'])

    for entry in index['manifests']:
        names.add((entry.get('annotations') or {}).get('org.opencontainers.image.ref.name'))
        walk(entry, 'index.json')
    for ref in refs:
        if ref not in names:
            problems.append('%s: index.json lacks ref %s' % (root, ref))
    problems += ['%s: leftover %s' % (root, name) for name in leftovers(root)]
    return problems


def outcome(run):
    """'ok', 'clear' (failed with a one-line msg) or 'traceback' for a module run (AnsibleRun)."""
    result = run.result
    text = json.dumps(result, default=repr)
    # ansible at -vvv puts this placeholder in every failed result that carries no traceback.
    if result.get('exception') == '(traceback unavailable)':
        result = dict(result)
        del result['exception']
    if 'exception' in result or 'Traceback (most recent call last)' in text or 'Traceback' in (result.get('module_stderr') or ''):
        return 'traceback'
    if result.get('failed'):
        msg = result.get('msg')
        if not isinstance(msg, str) or not msg.strip() or '\n' in msg.strip() or msg.startswith('MODULE FAILURE'):
            return 'traceback'
        return 'clear'
    return 'ok'


def result_problem(run, expected_digest=None, digest_key='dest_digest', must_succeed=False):
    """None when the run is acceptable, else a one-line description of what is wrong."""
    kind = outcome(run)
    result = run.result
    if kind == 'traceback':
        return 'traceback or unclear failure: %s' % (result.get('exception') or result.get('module_stderr') or result.get('msg'))[-600:]
    if kind == 'clear':
        return 'failed although it must succeed: %s' % result['msg'] if must_succeed else None
    if expected_digest and result.get(digest_key) != expected_digest:
        return 'succeeded with %s %s, expected %s' % (digest_key, result.get(digest_key), expected_digest)
    return None


def record(section, figures):
    """Merge ``{section: figures}`` (plus the time) into PODKIT_RELIABILITY_FIGURES, if that is set."""
    path = os.environ.get('PODKIT_RELIABILITY_FIGURES')
    if not path:
        return None
    figures = dict(figures, time=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))
    with open(path + '.lock', 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = {}
        if os.path.exists(path):
            with open(path) as f:
                data = json.load(f)
        data[section] = figures
        with open(path + '.new', 'w') as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.rename(path + '.new', path)
    return path
