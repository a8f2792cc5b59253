# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""image_pull's use case (internal; no stable API): the decision, then the pull into local storage (lifecycle.pull's
PodmanPull, the one container_state uses too) or into an oci:, oci-archive: or docker-archive: destination written by
the copy engine.

The copy engine is imported only for ``dest``, and only this file imports it: Ansible ships, and parses on the
controller, every module_utils file a module could import, on every run, and container_state, which pulls into
local storage only, does not import this file (docs/performance.md).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.podman import PodmanEngine
# POLICIES: the module's choices, which it takes from here.
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.pull import POLICIES  # noqa: F401  pylint: disable=unused-import
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.pull import (
    HeadAhead,
    PodmanPull,
    candidates_for,
    decide,
    head_first,
    image_text,
    is_current,
    local_name_of,
    needs_registry,
    platform_matches,
    refuse_artifact,
    repo_digests,
    signature_settings,
)
from ansible_collections.podkit.containers.plugins.module_utils.options import RegistryOptions
from ansible_collections.podkit.containers.plugins.module_utils.registry.manifest import platform_option

ARCHIVE_TRANSPORTS = ('oci', 'oci-archive', 'docker-archive')
TO_BE_PULLED = '(to be pulled)'


def image_summary(inspect, name, remote_digest=None):
    """RV(image) of image_pull; ``digest`` is the registry's digest when the image is known by it, else podman's Digest."""
    if not inspect:
        return {}
    digests = repo_digests(inspect, name)
    digest = remote_digest if remote_digest in digests else inspect.get('Digest')
    return {
        'id': inspect.get('Id'),
        'digest': digest,
        'repo_digests': list(inspect.get('RepoDigests') or []),
        'repo_tags': list(inspect.get('RepoTags') or []),
        'os': inspect.get('Os'),
        'architecture': inspect.get('Architecture'),
    }


class ImagePull(object):
    """One image_pull task. ``engine_factory()`` returns a PodmanEngine (called only when local storage is used).

    ``signatures``: dict(policy=path or None, registries_d=path or None, run_command=binary run_command for gpg) to
    verify signatures as containers-policy.json(5) requires before anything is pulled; None skips verification.
    """

    def __init__(self, options, engine_factory=None, platform=None, signatures=None, client_factory=None, conf=None):
        self.options = options
        self.engine_factory = engine_factory
        self.platform = platform
        self.puller = PodmanPull(options, platform=platform, signatures=signatures, client_factory=client_factory, conf=conf)
        self.pool = self.puller.pool

    def candidates(self, name, tag, digest, policy):
        """(candidates, resolution method) for the asked name; validates the policy first."""
        decide(policy, True, True)
        return candidates_for(image_text(name, tag, digest), self.puller.conf)

    def run(self, name, tag=None, digest=None, policy='newer', check_mode=False):
        """The image_pull result for ``name`` pulled into local container storage (by podman)."""
        candidates, method = self.candidates(name, tag, digest, policy)
        wanted = platform_option(self.platform)
        engine = self.engine_factory()
        # One name, no digest, a policy that asks the registry whatever local storage holds: the HEAD runs while
        # podman starts and inspects (~30 ms), instead of after it.
        ahead = None
        if len(candidates) == 1 and not candidates[0][0].digest and policy != 'missing':
            ahead = HeadAhead(candidates, self.pool)
        asked, local = candidates[0][0], None
        for candidate, dummy in candidates:
            local = engine.inspect_image(local_name_of(candidate))
            if local is not None:
                asked = candidate
                break
        pinned_current = bool(local is not None and asked.digest and asked.digest in repo_digests(local, asked.name)
                              and platform_matches(local, wanted))
        remote_digest = asked.digest if pinned_current else None
        current = True if pinned_current else None
        descriptor = None
        if needs_registry(policy, local is not None, pinned_current):
            if local is not None:
                # The image was found under this name: ask for that name only, as podman would pull it.
                candidates = [c for c in candidates if c[0] == asked]
            asked, descriptor = ahead.result() if ahead is not None else head_first(candidates, self.pool)
            remote_digest = descriptor['digest']
            current = is_current(remote_digest, local, asked.name, wanted)
        decision = decide(policy, local is not None, current)
        if decision.pull and descriptor is not None:
            refuse_artifact(candidates, asked, descriptor, self.pool)
        local_name = local_name_of(asked)
        before = image_summary(local, asked.name, remote_digest)
        result = {
            'changed': decision.change,
            'pulled': False,
            'pull_needed': decision.pull,
            'policy': policy,
            'resolved_name': local_name,
            'remote_digest': remote_digest,
            'local_digest_before': before.get('digest'),
            'image': before,
        }
        if method:
            result['resolved_from'] = method
        after = before
        if decision.pull:
            # Every pull asked the registry first (needs_registry), so remote_digest is the digest to verify.
            fetched = self.puller.fetch(engine, local_name, asked=asked, digest=remote_digest, check_mode=check_mode)
            if fetched.signatures is not None:
                result['signatures'] = fetched.signatures
            if fetched.image is not None:
                pulled = fetched.image
                after = image_summary(pulled, asked.name, remote_digest)
                if policy == 'always':
                    changed = before.get('id') != after.get('id')
                else:
                    changed = (before.get('id'), sorted(repo_digests(local, asked.name))) != \
                        (after.get('id'), sorted(repo_digests(pulled, asked.name)))
                result.update(changed=changed, pulled=True, image=after)
            elif decision.change:
                after = {'id': TO_BE_PULLED, 'digest': remote_digest}
        result['diff'] = {
            'before': {'name': local_name, 'id': before.get('id'), 'digest': before.get('digest')},
            'after': {'name': local_name, 'id': after.get('id'), 'digest': after.get('digest')},
        }
        return result

    def run_to(self, dest, name, tag=None, digest=None, policy='newer', check_mode=False):
        """The image_pull result for ``name`` copied into ``dest``: no podman, the copy engine writes it."""
        # Imported here: a pull into local storage, the common case, needs none of the copy engine (~15 ms).
        from ansible_collections.podkit.containers.plugins.module_utils.copy import engine as copy_engine

        candidates, method = self.candidates(name, tag, digest, policy)
        location = copy_engine.parse_location(dest, 'dest')
        if location.transport not in ARCHIVE_TRANSPORTS:
            raise ConfigError("dest '%s' is not supported: use oci:DIR[:REF], oci-archive:FILE[:REF] or docker-archive:FILE[:REF], "
                              "or leave dest unset for local container storage" % dest, option='dest')
        current = copy_engine.open_destination(location, self.options).current_digest()
        result = {'policy': policy, 'dest': str(location), 'local_digest_before': current, 'remote_digest': None}
        if method:
            result['resolved_from'] = method
        if current is not None and policy == 'missing':
            result.update(changed=False, pulled=False, pull_needed=False, resolved_name=local_name_of(candidates[0][0]),
                          image={'digest': current},
                          diff={'before': {'name': str(location), 'digest': current}, 'after': {'name': str(location), 'digest': current}})
            return result
        asked, descriptor = head_first(candidates, self.pool)
        source_name = local_name_of(asked)
        accepted = self.puller.verify(asked, descriptor['digest'])
        if accepted is not None:
            result['signatures'] = accepted
            source_name = '%s@%s' % (asked.name, descriptor['digest'])
        copied = copy_engine.copy_image('docker://%s' % source_name, dest, self.options, self.options, platform=self.platform,
                                        force=policy == 'always', check_mode=check_mode)
        target = copied.get('dest_digest')
        changed = current != target
        result.update(changed=changed, pulled=bool(copied.get('changed')) and not check_mode, pull_needed=policy == 'always' or changed,
                      resolved_name=local_name_of(asked), remote_digest=descriptor['digest'], image={'digest': target},
                      diff={'before': {'name': str(location), 'digest': current}, 'after': {'name': str(location), 'digest': target}})
        return result


def pull_image(name, options, run_command=None, executable='podman', tag=None, digest=None, platform=None, policy='newer',
               dest=None, check_mode=False, signatures=None, engine_factory=None, client_factory=None, conf=None):
    """The image_pull result for ``name``: into ``dest`` when given, else into local container storage through podman
    (``executable`` behind ``run_command``; ``engine_factory`` replaces both)."""
    if engine_factory is None:
        def engine_factory():
            return PodmanEngine(run_command, executable=executable)
    puller = ImagePull(options, engine_factory=engine_factory, platform=platform, signatures=signatures,
                       client_factory=client_factory, conf=conf)
    if dest:
        return puller.run_to(dest, name, tag=tag, digest=digest, policy=policy, check_mode=check_mode)
    return puller.run(name, tag=tag, digest=digest, policy=policy, check_mode=check_mode)


def run(params, run_command, run_binary, check_mode=False):
    """The image_pull task from the module's ``params``; ``run_command`` runs podman, ``run_binary`` gpg."""
    return pull_image(params['name'], RegistryOptions.from_params(params), run_command=run_command, executable=params['executable'],
                      tag=params['tag'], digest=params['digest'], platform=params['platform'], policy=params['policy'],
                      dest=params['dest'], check_mode=check_mode, signatures=signature_settings(params, run_binary))
