# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""image_info's core (internal; no stable API): the fields of `skopeo inspect`, read over the registry API."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.podkit.containers.plugins.module_utils.errors import AuthorizationError, NotFoundError
from ansible_collections.podkit.containers.plugins.module_utils.registry import manifest as mf
from ansible_collections.podkit.containers.plugins.module_utils.registry.names import open_image
from ansible_collections.podkit.containers.plugins.module_utils.signatures.registries_d import RegistriesD, WebLookaside
from ansible_collections.podkit.containers.plugins.module_utils.signatures.verify import list_signatures


def _signatures(ref, digest, client, registries_d, options):
    """The signatures found for ``digest`` (lookaside per registries.d, file or web; sigstore attachments); not verified."""
    return list_signatures(ref, digest, client, RegistriesD.load(registries_d), http_get=WebLookaside(options))


def _tags(client, repo):
    """(tags, warning or None). A registry may forbid listing tags to a user who may pull (AWS ECR without
    ecr:ListImages): skopeo warns and goes on, and so does image_info."""
    try:
        return client.list_tags(repo), None
    except AuthorizationError as err:
        return [], '%s; repo_tags is empty (tags: false skips the listing)' % err.msg


def inspect_image(name, options, platform=None, raw=False, tags=True, client_factory=None, registries_d=None):
    """Return the image_info result for ``name`` (a docker reference, possibly a short name)."""
    wanted = mf.platform_option(platform) or mf.local_platform()
    image = open_image(name, options, client_factory=client_factory)
    ref, client, top = image.reference, image.client, image.manifest
    repo = ref.repository
    result = dict(changed=False, name=str(ref), digest=top.digest, media_type=top.media_type)
    if image.resolved_from:
        result['resolved_from'] = image.resolved_from

    instance = top
    variant = None
    if top.is_index:
        result['manifests'] = [dict(digest=e['digest'], media_type=e['mediaType'], size=e['size'],
                                    platform=mf.platform_string(e)) for e in top.manifests]
        entry = mf.choose_platform(top, wanted['os'], wanted['architecture'], wanted.get('variant'))
        variant = entry['platform'].get('variant')
        instance = client.get_manifest(repo, entry['digest'])
        if instance.is_index:
            raise NotFoundError('the manifest list of %s points to another manifest list (%s); nested indexes are not supported'
                                % (ref, entry['digest']), registry=ref.registry, repository=repo)
        if raw:
            result['index'] = top.data
    result['artifact'] = False
    result['manifest_digest'] = instance.digest
    result['manifest_media_type'] = instance.media_type

    config = {}
    artifact_type = instance.artifact_type
    if artifact_type is not None:
        # A Helm chart, a cosign signature, an SBOM...: its config (if any) is no image config, so there is no
        # architecture or environment to read; what it is and what it holds are reported instead.
        result.update(artifact=True, artifact_type=artifact_type,
                      config_media_type=(instance.config or {}).get('mediaType'))
        if instance.data.get('annotations'):
            result['annotations'] = dict(instance.data['annotations'])
        if (instance.data.get('subject') or {}).get('digest'):
            result['subject'] = instance.data['subject']['digest']
    elif instance.is_schema1:
        history = instance.schema1_history
        config = history[-1] if history else {}
        config = dict(config, architecture=instance.platform.get('architecture'), os=instance.platform.get('os'))
    elif instance.config and instance.config.get('digest'):
        config = mf.parse_config(client.get_blob_bytes(repo, instance.config['digest'], mf.MAX_CONFIG_SIZE),
                                 expected_digest=instance.config['digest'], registry=ref.registry, repository=repo)
    inner = config.get('config') or {}
    repo_tags, warning = _tags(client, repo) if tags else ([], None)
    if warning:
        result['warnings'] = [warning]
    result.update(
        repo_tags=repo_tags,
        architecture=config.get('architecture'),
        os=config.get('os'),
        labels=inner.get('Labels') or {},
        env=inner.get('Env') or [],
        layers=[layer['digest'] for layer in instance.layers],
        layers_data=[_layer_data(layer) for layer in instance.layers],
    )
    for key, field in (('created', 'created'), ('docker_version', 'docker_version')):
        if config.get(field):
            result[key] = config[field]
    variant = config.get('variant') or variant
    if variant:
        result['variant'] = variant
    result['signatures'] = _signatures(ref, top.digest, client, registries_d, options)
    if raw:
        result['manifest'] = instance.data
        result['config'] = json.loads(json.dumps(config))
    return result


def _layer_data(layer):
    data = dict(digest=layer['digest'], size=layer['size'], media_type=layer['mediaType'])
    if layer.get('annotations'):
        data['annotations'] = layer['annotations']
    return data
