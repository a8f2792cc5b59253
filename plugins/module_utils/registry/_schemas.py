# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON schemas of manifests, indexes and image configs, embedded as Python literals (internal).

AnsiballZ ships only Python files, so the schemas cannot be data files. They state the rules of
the OCI image-spec (manifest, index, descriptor, config) and of the Docker image manifest v2
schema 2 / manifest list, written for this collection; the Docker ones have no upstream schema.
Every schema is self-contained: shared pieces live under ``definitions`` and are referenced locally.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

# defs.json: basic types.
DEFS = {
    'int64': {'type': 'integer', 'minimum': -9223372036854775808, 'maximum': 9223372036854775807},
    'uint64': {'type': 'integer', 'minimum': 0, 'maximum': 18446744073709551615},
    'stringArray': {'type': 'array', 'items': {'type': 'string'}},
    'mapStringString': {
        'type': 'object',
        'patternProperties': {'.{1,}': {'type': 'string'}},
    },
    'mapStringObject': {
        'type': 'object',
        'patternProperties': {'.{1,}': {'type': 'object'}},
    },
}

# defs-descriptor.json: the pieces of a content descriptor.
DEFS_DESCRIPTOR = {
    # RFC 6838 restricted names: type/subtype, each starting with an alphanumeric, at most 127 characters.
    'mediaType': {
        'type': 'string',
        'pattern': r'^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$',
    },
    'size': {'type': 'integer', 'minimum': 0, 'maximum': 9223372036854775807},
    'digest': {
        'type': 'string',
        'pattern': r'^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$',
    },
    'urls': {'type': 'array', 'items': {'type': 'string'}},
    'annotations': {'$ref': '#/definitions/mapStringString'},
    'data': {'type': 'string', 'pattern': r'^[A-Za-z0-9+/]*={0,2}$'},
}

PLATFORM = {
    'type': 'object',
    'properties': {
        'architecture': {'type': 'string'},
        'os': {'type': 'string'},
        'os.version': {'type': 'string'},
        'os.features': {'$ref': '#/definitions/stringArray'},
        'variant': {'type': 'string'},
        'features': {'$ref': '#/definitions/stringArray'},
    },
    'required': ['architecture', 'os'],
}

# content-descriptor.json
CONTENT_DESCRIPTOR = {
    'type': 'object',
    'properties': {
        'mediaType': {'$ref': '#/definitions/mediaType'},
        'size': {'$ref': '#/definitions/size'},
        'digest': {'$ref': '#/definitions/digest'},
        'urls': {'$ref': '#/definitions/urls'},
        'data': {'$ref': '#/definitions/data'},
        'artifactType': {'$ref': '#/definitions/mediaType'},
        'annotations': {'$ref': '#/definitions/annotations'},
        'platform': {'$ref': '#/definitions/platform'},
    },
    'required': ['mediaType', 'size', 'digest'],
}

_SHARED = {}
_SHARED.update(DEFS)
_SHARED.update(DEFS_DESCRIPTOR)
_SHARED['platform'] = PLATFORM
_SHARED['descriptor'] = CONTENT_DESCRIPTOR
_SHARED['manifestDescriptor'] = {
    'allOf': [
        {'$ref': '#/definitions/descriptor'},
        {'properties': {'platform': {'$ref': '#/definitions/platform'}}},
    ],
}


def _schema(body):
    result = {'$schema': 'http://json-schema.org/draft-07/schema#', 'definitions': copy.deepcopy(_SHARED)}
    result.update(body)
    return result


def _const(value):
    return {'type': 'string', 'enum': [value]}


# image-manifest-schema.json. The image-spec only says layers SHOULD hold one entry (artifacts may have
# none), so an empty list is accepted.
OCI_MANIFEST = _schema({
    'type': 'object',
    'properties': {
        'schemaVersion': {'type': 'integer', 'minimum': 2, 'maximum': 2},
        'mediaType': _const('application/vnd.oci.image.manifest.v1+json'),
        'artifactType': {'$ref': '#/definitions/mediaType'},
        'config': {'$ref': '#/definitions/descriptor'},
        'subject': {'$ref': '#/definitions/descriptor'},
        'layers': {'type': 'array', 'items': {'$ref': '#/definitions/descriptor'}},
        'annotations': {'$ref': '#/definitions/annotations'},
    },
    'required': ['schemaVersion', 'config', 'layers'],
})

# image-index-schema.json
OCI_INDEX = _schema({
    'type': 'object',
    'properties': {
        'schemaVersion': {'type': 'integer', 'minimum': 2, 'maximum': 2},
        'mediaType': _const('application/vnd.oci.image.index.v1+json'),
        'artifactType': {'$ref': '#/definitions/mediaType'},
        'subject': {'$ref': '#/definitions/descriptor'},
        'manifests': {'type': 'array', 'items': {'$ref': '#/definitions/manifestDescriptor'}},
        'annotations': {'$ref': '#/definitions/annotations'},
    },
    'required': ['schemaVersion', 'manifests'],
})

# Docker image manifest v2 schema 2: mediaType is mandatory in the document and in every descriptor.
DOCKER_MANIFEST = _schema({
    'type': 'object',
    'properties': {
        'schemaVersion': {'type': 'integer', 'minimum': 2, 'maximum': 2},
        'mediaType': _const('application/vnd.docker.distribution.manifest.v2+json'),
        'config': {'$ref': '#/definitions/descriptor'},
        'layers': {'type': 'array', 'items': {'$ref': '#/definitions/descriptor'}},
    },
    'required': ['schemaVersion', 'mediaType', 'config', 'layers'],
})

# Docker manifest list: a platform is required for every entry.
DOCKER_MANIFEST_LIST = _schema({
    'type': 'object',
    'properties': {
        'schemaVersion': {'type': 'integer', 'minimum': 2, 'maximum': 2},
        'mediaType': _const('application/vnd.docker.distribution.manifest.list.v2+json'),
        'manifests': {
            'type': 'array',
            'items': {
                'allOf': [
                    {'$ref': '#/definitions/descriptor'},
                    {'required': ['platform']},
                ],
            },
        },
    },
    'required': ['schemaVersion', 'mediaType', 'manifests'],
})

# Docker image manifest v2 schema 1 (deprecated; read only).
DOCKER_SCHEMA1 = _schema({
    'type': 'object',
    'properties': {
        'schemaVersion': {'type': 'integer', 'minimum': 1, 'maximum': 1},
        'name': {'type': 'string'},
        'tag': {'type': 'string'},
        'architecture': {'type': 'string'},
        'fsLayers': {
            'type': 'array',
            'items': {
                'type': 'object',
                'properties': {'blobSum': {'$ref': '#/definitions/digest'}},
                'required': ['blobSum'],
            },
        },
        'history': {
            'type': 'array',
            'items': {
                'type': 'object',
                'properties': {'v1Compatibility': {'type': 'string'}},
                'required': ['v1Compatibility'],
            },
        },
        'signatures': {'type': 'array', 'items': {'type': 'object'}},
    },
    'required': ['schemaVersion', 'fsLayers'],
})

# config-schema.json (OCI image config; Docker's container config is a superset).
IMAGE_CONFIG = _schema({
    'type': 'object',
    'properties': {
        'created': {'type': 'string'},
        'author': {'type': 'string'},
        'architecture': {'type': 'string'},
        'variant': {'type': 'string'},
        'os': {'type': 'string'},
        'os.version': {'type': 'string'},
        'os.features': {'$ref': '#/definitions/stringArray'},
        'config': {
            'type': ['object', 'null'],
            'properties': {
                'User': {'type': 'string'},
                'ExposedPorts': {'$ref': '#/definitions/mapStringObjectOrNull'},
                'Env': {'$ref': '#/definitions/stringArrayOrNull'},
                'Entrypoint': {'$ref': '#/definitions/stringArrayOrNull'},
                'Cmd': {'$ref': '#/definitions/stringArrayOrNull'},
                'Volumes': {'$ref': '#/definitions/mapStringObjectOrNull'},
                'WorkingDir': {'type': 'string'},
                'Labels': {'oneOf': [{'$ref': '#/definitions/mapStringString'}, {'type': 'null'}]},
                'StopSignal': {'type': 'string'},
            },
        },
        'rootfs': {
            'type': 'object',
            'properties': {
                'diff_ids': {'type': 'array', 'items': {'$ref': '#/definitions/digest'}},
                'type': {'type': 'string', 'enum': ['layers']},
            },
            'required': ['diff_ids', 'type'],
        },
        'history': {
            'type': ['array', 'null'],
            'items': {
                'type': 'object',
                'properties': {
                    'created': {'type': 'string'},
                    'author': {'type': 'string'},
                    'created_by': {'type': 'string'},
                    'comment': {'type': 'string'},
                    'empty_layer': {'type': 'boolean'},
                },
            },
        },
    },
    'required': ['architecture', 'os', 'rootfs'],
})
IMAGE_CONFIG['definitions']['stringArrayOrNull'] = {'oneOf': [{'$ref': '#/definitions/stringArray'}, {'type': 'null'}]}
IMAGE_CONFIG['definitions']['mapStringObjectOrNull'] = {'oneOf': [{'$ref': '#/definitions/mapStringObject'}, {'type': 'null'}]}
