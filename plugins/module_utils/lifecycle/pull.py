# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pull into local storage of image_pull and container_state (internal; no stable API): PodmanPull, and the
names, local-image and decision helpers image_pull's use case builds its decision from.

Whether to pull is decided in Python: the registry is asked for the tag's current digest with one
HEAD per place tried, and that digest is looked up in the local image's RepoDigests for the repository.
The pull itself is podman's (``PodmanEngine.pull``), with credentials in a private temporary auth file and
a CA in a temporary cert dir, so no secret ever reaches argv.

What podman 4.3.1 records (verified with real pulls): after pulling a manifest list, RepoDigests holds the
index digest and the platform instance's manifest digest; after pulling a single manifest, that manifest's
digest. ``Digest`` is not reliable for the comparison: it is the index digest after a fresh list pull but keeps
an older digest when the pulled image was already in storage, and RepoDigests then pairs every name of the
image with every digest it is known by. So the registry's digest (an index digest for a list, a manifest
digest otherwise) is compared with the set of RepoDigests of the repository: like with like on both sides.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import collections
import json
import os
import shutil
import stat
import tempfile
import threading
from contextlib import contextmanager

from ansible_collections.podkit.containers.plugins.module_utils.errors import (
    AuthenticationError,
    ConfigError,
    ManifestError,
    NotFoundError,
    PodkitError,
    PodmanError,
    RegistryUnreachableError,
)
from ansible_collections.podkit.containers.plugins.module_utils.registry import manifest as mf
from ansible_collections.podkit.containers.plugins.module_utils.registry.names import ClientPool, image_sources
from ansible_collections.podkit.containers.plugins.module_utils.registry.reference import (
    registry_of, split_reference, strip_docker_prefix, validate_digest, validate_tag,
)
from ansible_collections.podkit.containers.plugins.module_utils.registry.registries_conf import load_registries_conf

POLICIES = ('missing', 'newer', 'always')

Decision = collections.namedtuple('Decision', ['pull', 'change'])
Decision.__doc__ = """``pull``: run a pull; ``change``: the local image for the name is expected to change."""


# -- names -----------------------------------------------------------------------------------------

def image_text(name, tag=None, digest=None):
    """``name`` with O(tag) or O(digest) applied; a digest wins over any tag (podman stores a digest pull untagged)."""
    text = strip_docker_prefix((name or '').strip())
    if not text:
        raise ConfigError('name is empty: give an image such as registry.example.com/team/app:1.0', option='name')
    if tag is not None and digest is not None:
        raise ConfigError('tag and digest are mutually exclusive')
    bare, own_tag, own_digest = split_reference(text)
    if tag is not None:
        validate_tag(tag)
        if (own_tag and own_tag != tag) or own_digest:
            raise ConfigError("name '%s' already names a %s; drop it from name or drop tag" % (text, 'digest' if own_digest else 'tag'),
                              option='tag')
        return '%s:%s' % (bare, tag)
    if digest is not None:
        validate_digest(digest)
        if own_digest and own_digest != digest:
            raise ConfigError("name '%s' already names another digest; drop it from name or drop digest" % text, option='digest')
        return '%s@%s' % (bare, digest)
    if own_digest:
        return '%s@%s' % (bare, own_digest)
    return text


def local_name_of(ref):
    """What podman stores (and inspects) for a reference: repo@digest when pinned, else repo:tag."""
    if ref.digest:
        return '%s@%s' % (ref.name, ref.digest)
    return '%s:%s' % (ref.name, ref.tag or 'latest')


def candidates_for(text, conf):
    """([(asked Reference, [(source Reference, insecure)])] in order, resolution method)."""
    sources, method = image_sources(text, conf)
    grouped = collections.OrderedDict()
    for asked, source, insecure in sources:
        if asked.digest:
            asked = asked.with_tag(None).with_digest(asked.digest)
            source = source.with_tag(None).with_digest(asked.digest)
        grouped.setdefault(asked, []).append((source, insecure))
    return list(grouped.items()), method


# -- local images ----------------------------------------------------------------------------------

def repo_digests(inspect, name):
    """Digests in ``inspect``'s RepoDigests recorded for repository ``name`` (``registry/path``)."""
    found = []
    for entry in (inspect or {}).get('RepoDigests') or []:
        repo, at, digest = entry.partition('@')
        if at and repo == name and digest not in found:
            found.append(digest)
    return found


def platform_matches(inspect, wanted):
    """True unless the local image is for another platform than ``wanted`` (podman 4.3 often omits Variant)."""
    if not wanted or not inspect:
        return True
    os_name, architecture, variant = mf.normalize_platform(inspect.get('Os') or 'linux', inspect.get('Architecture') or '',
                                                           inspect.get('Variant') or None)
    if os_name != wanted['os'] or architecture != wanted['architecture']:
        return False
    return not (variant and wanted.get('variant') and variant != wanted['variant'])


def is_current(remote_digest, inspect, name, wanted=None):
    """The local image (``podman image inspect`` object) is what the registry serves as ``remote_digest``."""
    if inspect is None or not remote_digest:
        return False
    return remote_digest in repo_digests(inspect, name) and platform_matches(inspect, wanted)


# -- the decision ----------------------------------------------------------------------------------

def decide(policy, local_present, current):
    """Decision for ``policy`` given whether a local image exists and whether it is current.

    ``current`` is True/False when the registry was asked, None when it was not (policy missing).
    """
    if policy not in POLICIES:
        raise ConfigError('invalid policy %r: expected one of %s' % (policy, ', '.join(POLICIES)), option='policy')
    if not local_present:
        return Decision(True, True)
    if policy == 'missing':
        return Decision(False, False)
    if policy == 'newer':
        return Decision(not current, not current)
    return Decision(True, not current)


def needs_registry(policy, local_present, pinned_current):
    """Whether the registry must be asked: not for missing with a local image, nor for a digest already local."""
    if local_present and policy == 'missing':
        return False
    if local_present and pinned_current and policy == 'newer':
        return False
    return True


# -- the registry ----------------------------------------------------------------------------------

def head_first(candidates, pool):
    """(asked Reference, descriptor) of the first candidate/mirror that has the image: one HEAD per place tried."""
    places = [(asked, source, insecure) for asked, sources in candidates for source, insecure in sources]
    failures = []
    last = None
    for asked, source, insecure in places:
        client = pool.get(source.registry, insecure)
        try:
            return asked, client.head_manifest(source.repository, source.api_reference)
        except (NotFoundError, AuthenticationError, RegistryUnreachableError) as err:
            # A search registry or mirror that lacks the image (or cannot be reached) is not the end: try the next.
            if len(places) == 1:
                raise
            failures.append('%s: %s' % (source, err.msg))
            last = err
    raise type(last)('image %s was found in none of the places tried: %s' % (places[0][0], '; '.join(failures)),
                     registry=last.registry, repository=last.repository, status=last.status,
                     tried=[str(place[1]) for place in places])


def refuse_artifact(candidates, asked, descriptor, pool):
    """ManifestError when ``descriptor`` (head_first's answer for ``asked``) is an OCI artifact, not an image.

    podman would fail on it only after the pull started, with "unsupported image-specific operation on artifact";
    the manifest (one GET, and only for an OCI manifest that is about to be pulled) tells it before, check mode too.
    """
    if descriptor.get('mediaType') != mf.OCI_MANIFEST or not descriptor.get('digest'):
        return
    for source, insecure in dict(candidates).get(asked) or []:
        try:
            manifest = pool.get(source.registry, insecure).get_manifest(source.repository, descriptor['digest'])
        except (NotFoundError, AuthenticationError, RegistryUnreachableError):
            continue
        if manifest.artifact_type is not None:
            raise ManifestError('%s is an OCI artifact (%s), not a container image: podman cannot store or run it; '
                                'copy it with podkit.containers.image_copy, or name an image'
                                % (asked, manifest.artifact_type), registry=source.registry, repository=source.repository,
                                artifact_type=manifest.artifact_type)
        return


class HeadAhead(threading.Thread):
    """head_first(candidates, pool) in a thread; ``result()`` waits for it and raises what it raised.

    The caller must not use ``pool`` until ``result()`` returned.
    """

    def __init__(self, candidates, pool):
        threading.Thread.__init__(self, name='podkit-head')
        self.daemon = True
        self._candidates = candidates
        self._pool = pool
        self._value = None
        self._error = None
        self.start()

    def run(self):
        try:
            self._value = head_first(self._candidates, self._pool)
        except Exception as exc:  # pylint: disable=broad-except  # handed to the caller, which raises it
            self._error = exc

    def result(self):
        self.join()
        if self._error is not None:
            raise self._error
        return self._value


# -- podman ----------------------------------------------------------------------------------------

def write_auth_file(path, registry, username, password):
    """A new containers-auth.json(5) at ``path`` (created 0600, never world-readable in between) with one entry."""
    if ':' in username:
        raise ConfigError("username must not contain ':'", option='username')
    token = base64.b64encode(('%s:%s' % (username, password)).encode('utf-8')).decode('ascii')
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, 'w') as handle:
        json.dump({'auths': {registry: {'auth': token}}}, handle)
    return path


@contextmanager
def podman_auth(options, registry):
    """dict(auth_file, cert_dir, tls_verify) for ``podman pull``: temporary files in a private directory (0700;
    auth file 0600), removed on exit. A user's O(auth_file) is passed as it is."""
    directory = None
    try:
        args = {'auth_file': options.auth_file, 'cert_dir': None, 'tls_verify': None}
        if options.insecure or not options.validate_certs:
            args['tls_verify'] = False
        if (options.username and options.password is not None) or options.ca_cert or options.client_cert:
            directory = tempfile.mkdtemp(prefix='podkit-pull-')
            os.chmod(directory, stat.S_IRWXU)
        if options.username and options.password is not None:
            args['auth_file'] = write_auth_file(os.path.join(directory, 'auth.json'), registry, options.username, options.password)
        if options.ca_cert or options.client_cert:
            # containers-certs.d(5): *.crt are CAs, *.cert/*.key a client pair.
            certs = os.path.join(directory, 'certs')
            os.mkdir(certs, stat.S_IRWXU)
            for source, target in ((options.ca_cert, 'ca.crt'), (options.client_cert, 'client.cert'), (options.client_key, 'client.key')):
                if source:
                    try:
                        shutil.copyfile(source, os.path.join(certs, target))
                    except (IOError, OSError) as exc:
                        raise ConfigError('cannot read %s: %s' % (source, getattr(exc, 'strerror', None) or exc), path=source)
            args['cert_dir'] = certs
        yield args
    finally:
        if directory:
            shutil.rmtree(directory, ignore_errors=True)


def podman_env(options):
    """Environment for podman: the same registries.conf as the Python side used."""
    if options.registries_conf:
        return {'CONTAINERS_REGISTRIES_CONF': options.registries_conf}
    return None


# -- signatures ------------------------------------------------------------------------------------

def signature_settings(params, run_binary):
    """The ``signatures`` dict of PodmanPull from the module options of the signatures doc fragment; ``run_binary`` is
    a binary run_command for gpg."""
    return dict(policy=params.get('signature_policy'), registries_d=params.get('registries_d'), run_command=run_binary)


def signature_policy(signatures):
    """The containers-policy.json(5) a task applies (``signatures``: dict(policy=path or None, ...)), or None: with
    ``signatures`` None, or without a policy path and without a default policy file."""
    if signatures is None:
        return None
    from ansible_collections.podkit.containers.plugins.module_utils.signatures.policy import load_policy
    return load_policy(signatures.get('policy'))


def verify_signatures(signatures, policy, asked, digest, pool, options):
    """The accepted signatures of ``digest`` of ``asked`` (the name the user asked for, a Reference), or None when
    ``policy`` asks nothing of it; SignatureError when they do not satisfy it. The one implementation of image_pull's
    and container_state's check: simple signatures from the lookaside registries.d names (file or http(s), read with
    ``options``' TLS choices), sigstore attachments from the registry."""
    if policy is None:
        return None
    from ansible_collections.podkit.containers.plugins.module_utils.signatures.policy import requires_verification
    if not requires_verification(policy, asked):
        return None
    # The verification code (gpg, sigstore attachments, cryptography) only for a policy that asks for signatures.
    from ansible_collections.podkit.containers.plugins.module_utils.signatures import verify as sigverify
    from ansible_collections.podkit.containers.plugins.module_utils.signatures.registries_d import RegistriesD, WebLookaside
    registries = RegistriesD.load(signatures.get('registries_d'))
    return sigverify.verify_image(asked, digest, pool.get(asked.registry, False), policy, registries, signatures.get('run_command'),
                                  http_get=WebLookaside(options))


# -- the pull --------------------------------------------------------------------------------------

Fetched = collections.namedtuple('Fetched', ['image', 'signatures'])
Fetched.__doc__ = """``image``: the inspect object after the pull (None in check mode); ``signatures``: the accepted
signatures when the policy required them (the pull was by digest), else None."""


class PodmanPull(object):
    """The one pull into local storage, for image_pull and container_state (``fetch``): the signature policy is checked
    against the registry's digest (in check mode too), then podman pulls with credentials in a private temporary auth
    file -- a verified image as ``name@digest``, tagged with the name afterwards -- and the image is inspected.

    ``signatures``: dict(policy=path or None, registries_d=path or None, run_command=binary run_command for gpg), or
    None to verify nothing. registries.conf and the registry clients are made on first use, so a pull that asks the
    registry nothing loads neither.
    """

    def __init__(self, options, platform=None, signatures=None, client_factory=None, conf=None):
        self.options = options
        self.platform = platform
        self.signatures = signatures
        self.client_factory = client_factory
        self._conf = conf
        self._pool = None
        self._policy = None
        self._remote = {}

    @property
    def conf(self):
        if self._conf is None:
            self._conf = load_registries_conf(self.options.registries_conf)
        return self._conf

    @property
    def pool(self):
        if self._pool is None:
            self._pool = ClientPool(self.options, conf=self.conf, client_factory=self.client_factory)
        return self._pool

    def policy(self):
        if self._policy is None:
            self._policy = (signature_policy(self.signatures),)
        return self._policy[0]

    def behind(self, image, local_image):
        """True when the registry serves something else for ``image`` than ``local_image`` (an inspect object): one HEAD
        (per search registry or mirror tried); a pinned digest already in RepoDigests needs none."""
        if local_image is None:
            return True
        candidates, dummy = candidates_for(image_text(image), self.conf)
        tags = set(local_image.get('RepoTags') or [])
        digests = set(local_image.get('RepoDigests') or [])
        # A short name: the candidate the local image is stored under is the one podman resolved it to.
        for candidate, sources in candidates:
            if local_name_of(candidate) in tags or local_name_of(candidate) in digests:
                candidates = [(candidate, sources)]
                break
        asked = candidates[0][0]
        wanted = mf.platform_option(self.platform)
        if asked.digest:
            return not (asked.digest in repo_digests(local_image, asked.name) and platform_matches(local_image, wanted))
        asked, descriptor = head_first(candidates, self.pool)
        # fetch() verifies the digest this answer was about (no second HEAD, no tag moving in between).
        self._remote[image] = (asked, descriptor['digest'])
        return not is_current(descriptor['digest'], local_image, asked.name, wanted)

    def _registry_of(self, image):
        registry = registry_of(image)
        if self.options.username and registry is None:
            raise ConfigError('username/password need a fully qualified image (registry/repository:tag) to know which registry '
                              'they are for; %s is a short name' % image, option='username')
        return registry

    def _verified(self, image, asked, digest):
        """(asked, digest, accepted signatures) when the policy requires signatures for the image, else None."""
        policy = self.policy()
        if policy is None:
            return None
        if asked is None:
            from ansible_collections.podkit.containers.plugins.module_utils.signatures.policy import requires_verification
            candidates, dummy = candidates_for(image_text(image), self.conf)
            if not any(requires_verification(policy, candidate) for candidate, dummy in candidates):
                return None
            asked, digest = self._remote.get(image) or (None, None)
            if asked is None:
                asked, descriptor = head_first(candidates, self.pool)
                digest = descriptor['digest']
        accepted = self.verify(asked, digest)
        return None if accepted is None else (asked, digest, accepted)

    def verify(self, asked, digest):
        """The accepted signatures of ``digest`` for ``asked`` (a Reference), or None when the policy asks nothing of
        it; SignatureError when they do not satisfy it."""
        return verify_signatures(self.signatures, self.policy(), asked, digest, self.pool, self.options)

    def _refuse_artifact(self, image):
        """ManifestError when ``image`` names an OCI artifact. Asked only once podman failed, so a pull that works costs
        no extra request: an artifact gets a message that says so instead of podman's "unsupported image-specific
        operation". A registry that does not answer here leaves podman's own message."""
        try:
            candidates, dummy = candidates_for(image_text(image), self.conf)
            asked, descriptor = head_first(candidates, self.pool)
        except PodkitError:
            return
        refuse_artifact(candidates, asked, descriptor, self.pool)

    def fetch(self, engine, image, asked=None, digest=None, check_mode=False):
        """Pull ``image`` into local storage through ``engine`` (a PodmanEngine) and return Fetched.

        ``image`` is what the user named; ``asked`` (a Reference) and ``digest`` are what the caller already learnt
        from the registry for it (image_pull asks first; container_state only for pull: newer). Without ``asked``,
        podman resolves ``image`` itself unless the policy needs the registry's digest. SignatureError (nothing pulled)
        when the signatures do not satisfy the policy.
        """
        registry = asked.registry if asked is not None else self._registry_of(image)
        verified = self._verified(image, asked, digest)
        accepted = verified[2] if verified else None
        if check_mode:
            return Fetched(None, accepted)
        name = pull_name = local_name_of(asked) if asked is not None else image
        if verified:
            # Verified signatures cover one digest: pull exactly that, so podman cannot fetch anything else.
            asked, digest = verified[0], verified[1]
            name, pull_name, registry = local_name_of(asked), '%s@%s' % (asked.name, digest), asked.registry
        with podman_auth(self.options, registry) as auth:
            try:
                engine.pull(pull_name, auth_file=auth['auth_file'], tls_verify=auth['tls_verify'], cert_dir=auth['cert_dir'],
                            platform=self.platform, env=podman_env(self.options))
            except PodmanError:
                self._refuse_artifact(image)
                raise
        if pull_name != name:
            engine.tag(pull_name, name)
        pulled = engine.inspect_image(name)
        if pulled is None:
            raise PodmanError('podman pulled %s but the image is not in local storage afterwards' % name, image=name)
        return Fetched(pulled, accepted)
