# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""image_pull into an oci:, oci-archive: or docker-archive: destination, written by the copy engine (internal).

Apart from pull.py because Ansible ships, and parses on the controller, every module_utils file a module could
import, on every run: container_state pulls into local storage only and so does not carry the copy engine
(docs/performance.md).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.pull import ImagePull, head_first, local_name_of

ARCHIVE_TRANSPORTS = ('oci', 'oci-archive', 'docker-archive')


class ArchivePull(ImagePull):
    """One image_pull task with ``dest``: no podman, the registry's image is copied into the destination."""

    def run_to(self, dest, name, tag=None, digest=None, platform=None, policy='newer', check_mode=False):
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
        if self._verify(asked, descriptor['digest']):
            result['signatures'] = self.verified
            source_name = '%s@%s' % (asked.name, descriptor['digest'])
        copied = copy_engine.copy_image('docker://%s' % source_name, dest, self.options, self.options, platform=platform,
                                        force=policy == 'always', check_mode=check_mode)
        target = copied.get('dest_digest')
        changed = current != target
        result.update(changed=changed, pulled=bool(copied.get('changed')) and not check_mode, pull_needed=policy == 'always' or changed,
                      resolved_name=local_name_of(asked), remote_digest=descriptor['digest'], image={'digest': target},
                      diff={'before': {'name': str(location), 'digest': current}, 'after': {'name': str(location), 'digest': target}})
        return result


def pull_image(name, options, engine_factory=None, tag=None, digest=None, platform=None, policy='newer', dest=None,
               check_mode=False, client_factory=None, conf=None, signatures=None):
    """The image_pull result for ``name``: into ``dest`` when given, else into local container storage."""
    if dest:
        puller = ArchivePull(options, client_factory=client_factory, conf=conf, signatures=signatures)
        return puller.run_to(dest, name, tag=tag, digest=digest, platform=platform, policy=policy, check_mode=check_mode)
    puller = ImagePull(options, engine_factory=engine_factory, client_factory=client_factory, conf=conf, signatures=signatures)
    return puller.run(name, tag=tag, digest=digest, platform=platform, policy=policy, check_mode=check_mode)
