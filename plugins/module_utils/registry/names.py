# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""From the name a user writes to a manifest in a registry (internal; no stable API).

Short names go through registries.conf (aliases, then unqualified-search-registries); without any such
configuration they mean Docker Hub, as `skopeo inspect docker://NAME` treats them. Reads then try the
registries.conf mirrors before the primary location. One client (one HTTP session, one token cache) serves
each registry for the whole task.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.podkit.containers.plugins.module_utils.errors import AuthenticationError, NotFoundError
from ansible_collections.podkit.containers.plugins.module_utils.registry.reference import (
    is_short_name, parse_reference, strip_docker_prefix,
)
from ansible_collections.podkit.containers.plugins.module_utils.registry.registries_conf import load_registries_conf


class ClientPool(object):
    """One RegistryClient per (registry, insecure) for the life of a task."""

    def __init__(self, options, conf=None, client_factory=None):
        self.options = options
        self.conf = conf
        self._factory = client_factory
        self._clients = {}

    def get(self, registry, insecure=False):
        key = (registry, bool(insecure))
        if self._factory is None:
            # Here, not in __init__: the first get() may run in a thread (pull.HeadAhead), and importing the client
            # with requests (~50 ms) then overlaps podman's inspect.
            from ansible_collections.podkit.containers.plugins.module_utils.registry.client import RegistryClient
            self._factory = RegistryClient
        if key not in self._clients:
            options = self.options.copy(insecure=True) if insecure and not self.options.insecure else self.options
            self._clients[key] = self._factory(registry, options, conf=self.conf)
        return self._clients[key]

    def request_counts(self):
        total = {}
        for client in self._clients.values():
            for method, count in getattr(client, 'stats', {}).items():
                total[method] = total.get(method, 0) + count
        return total


def resolve_name(name, conf):
    """([candidate reference strings], method): method is None for a fully qualified name, else alias/search/default."""
    text = strip_docker_prefix((name or '').strip())
    if not is_short_name(text):
        return [str(parse_reference(text))], None
    if not conf.unqualified_search_registries and not conf.aliases and not conf.unavailable_reason:
        return [str(parse_reference(text))], 'default'
    resolution = conf.resolve_short_name(text)
    return list(resolution.candidates), resolution.method


class OpenedImage(object):
    """The image a name points to: ``reference`` (as asked), ``source`` (where it was read: a mirror or the
    primary location), ``client`` for that source, the top-level ``manifest``, and ``resolved_from``."""

    def __init__(self, reference, source, client, manifest, resolved_from):
        self.reference = reference
        self.source = source
        self.client = client
        self.manifest = manifest
        self.resolved_from = resolved_from


def image_sources(name, conf):
    """[(Reference asked for, Reference to read, insecure)] in the order to try, and the resolution method."""
    candidates, method = resolve_name(name, conf)
    sources = []
    for candidate in candidates:
        asked = parse_reference(candidate)
        for location, insecure in conf.pull_sources(str(asked)):
            sources.append((asked, parse_reference(location), insecure))
    return sources, method


def open_image(name, options, client_factory=None, conf=None, pool=None):
    """Fetch the top-level manifest of ``name``; tries each candidate and mirror until one has it."""
    if conf is None:
        conf = load_registries_conf(options.registries_conf)
    if pool is None:
        pool = ClientPool(options, conf=conf, client_factory=client_factory)
    sources, method = image_sources(name, conf)
    failures = []
    last_error = None
    for asked, source, insecure in sources:
        client = pool.get(source.registry, insecure)
        try:
            manifest = client.get_manifest(source.repository, source.api_reference)
        except (NotFoundError, AuthenticationError) as err:
            # A search candidate or mirror that lacks the image (or refuses us) is not the end: try the next.
            if len(sources) == 1:
                raise
            failures.append('%s: %s' % (source, err.msg))
            last_error = err
            continue
        return OpenedImage(asked, source, client, manifest, method)
    raise type(last_error)('image %s was found in none of the places tried: %s' % (name, '; '.join(failures)),
                           registry=last_error.registry, repository=last_error.repository, status=last_error.status,
                           tried=[str(s[1]) for s in sources])
