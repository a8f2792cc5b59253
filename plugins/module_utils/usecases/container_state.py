# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ContainerManager: one container brought to a desired state (internal; no stable API).

Reads the current container and image through a PodmanEngine, decides the image pull, compares the spec
with the effective config, asks state.plan for the transitions and executes them (check mode: reports them
and executes none, pulls included).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.podman import PodmanEngine
# container_spec_argspec, comparisons_argspec: the module's container spec options (the table), which it takes from here.
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.spec import (  # noqa: F401  pylint: disable=unused-import
    argument_spec as container_spec_argspec, comparisons_argspec,
)
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.spec import ContainerSpec
# DESIRED_STATES: the module's choices, which it takes from here.
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.state import DESIRED_STATES  # noqa: F401  pylint: disable=unused-import
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.state import (
    final_state,
    normalize_status,
    plan,
)
from ansible_collections.podkit.containers.plugins.module_utils.options import RegistryOptions

PULL_POLICIES = ('missing', 'newer', 'always', 'never')


def container_summary(container):
    """The facts of a ``podman container inspect`` object a playbook needs; {} when there is none."""
    if not container:
        return {}
    state = container.get('State') or {}
    config = container.get('Config') or {}
    return {
        'id': container.get('Id'),
        'name': container.get('Name'),
        'state': normalize_status(container),
        'status': state.get('Status'),
        'running': bool(state.get('Running')),
        'paused': bool(state.get('Paused')),
        'exit_code': state.get('ExitCode'),
        'pid': state.get('Pid'),
        'started_at': state.get('StartedAt'),
        'finished_at': state.get('FinishedAt'),
        'created': container.get('Created'),
        'image': container.get('ImageName') or config.get('Image'),
        'image_id': container.get('Image'),
        'restart_count': container.get('RestartCount'),
    }


class ContainerManager(object):
    """``apply()`` brings container ``params['name']`` to ``params['state']`` and returns the task result.

    ``puller_factory()`` returns the lifecycle.pull.PodmanPull that answers pull=newer (``behind``), verifies
    signatures and pulls (``fetch``); it is called only when a pull or pull=newer needs it, so a no-op run loads
    neither the registry nor the signatures code. Without it, one without signature checks is made from ``params``.
    """

    def __init__(self, engine, params, check_mode=False, puller_factory=None):
        self.engine = engine
        self.params = params
        self.check_mode = check_mode
        self.puller_factory = puller_factory
        self._puller = None

    def _param(self, key, default=None):
        value = self.params.get(key)
        return default if value is None else value

    # -- image -------------------------------------------------------------------------------------

    def _pull_needed(self, image, local):
        """(pull now, pulling is a predictable change)."""
        policy = self._param('pull', 'missing')
        if policy not in PULL_POLICIES:
            raise ConfigError('invalid pull %r: expected one of %s' % (policy, ', '.join(PULL_POLICIES)), option='pull')
        if policy == 'never':
            if local is None:
                raise ConfigError('image %s is not in local storage and pull is never: pull it first or set pull to missing'
                                  % image, option='pull', image=image)
            return False, False
        if policy == 'always':
            # Whether the registry has something else is only known after the pull.
            return True, local is None
        if policy == 'newer' and local is not None:
            behind = bool(self._puller_now().behind(image, local))
            return behind, behind
        return local is None, local is None

    def _puller_now(self):
        if self._puller is None:
            self._puller = (self.puller_factory or self._default_puller)()
        return self._puller

    def _default_puller(self):
        return puller_for(self.params)

    # -- the task ----------------------------------------------------------------------------------

    def apply(self):
        desired = self._param('state', 'started')
        spec = ContainerSpec.from_params(self.params)
        name = spec.name
        local = None
        if desired != 'absent' and spec.image:
            container, local = self.engine.inspect_container_and_image(name, spec.image)
        else:
            container = self.engine.inspect_container(name)
        current = normalize_status(container)
        diff_before = {'state': current}
        diff_after = {}
        actions = []
        image_changed = False
        drift = []
        signatures = None

        if desired == 'absent':
            transitions = plan(current, 'absent', force_kill=bool(self.params.get('force_kill')),
                               force=bool(self.params.get('force')))
        else:
            if not spec.image:
                raise ConfigError('image is required for state %s' % desired, option='image')
            pull_now, pull_changes = self._pull_needed(spec.image, local)
            image = local
            if pull_now:
                # The signature policy is applied before anything is pulled, in check mode too (it asks the registry);
                # a refusal fails the task here, with nothing pulled and the container untouched.
                fetched = self._puller_now().fetch(self.engine, spec.image, check_mode=self.check_mode)
                signatures = fetched.signatures
                if fetched.image is not None:
                    image = fetched.image
                    pull_changes = local is None or image.get('Id') != local.get('Id')
            if pull_changes:
                actions.append('pull')

            if container is not None:
                old_id = container.get('Image')
                if self.check_mode and pull_changes:
                    image_changed = True
                    new_id = '(to be pulled)'
                else:
                    new_id = image.get('Id')
                    image_changed = old_id != new_id
                if image_changed:
                    diff_before['image_id'] = old_id
                    diff_after['image_id'] = new_id
                container_image = image if image is not None and image.get('Id') == old_id else self.engine.inspect_image(old_id)
                drift = spec.compare(container, container_image)
                for difference in drift:
                    diff_before[difference['key']] = difference['before']
                    diff_after[difference['key']] = difference['after']
            else:
                diff_after['image'] = spec.image
                diff_after.update(spec.display())

            transitions = plan(current, desired, drift=bool(drift), image_changed=image_changed,
                               recreate=bool(self.params.get('recreate')), force_kill=bool(self.params.get('force_kill')))

        actions += transitions
        diff_after['state'] = final_state(current, transitions)
        if not self.check_mode:
            for transition in transitions:
                self._execute(transition, spec)
            if transitions:
                container = self.engine.inspect_container(name)

        result = {
            'changed': bool(actions),
            'actions': actions,
            'container': container_summary(container),
            'diff': {'before': diff_before, 'after': diff_after},
        }
        if signatures is not None:
            result['signatures'] = signatures
        return result

    def _execute(self, transition, spec):
        engine, name = self.engine, spec.name
        force_kill = bool(self.params.get('force_kill'))
        if transition == 'create':
            engine.create(spec.create_args(), name=name)
        elif transition == 'recreate':
            engine.remove(name, force=True, timeout=0 if force_kill else None)
            engine.create(spec.create_args(), name=name)
        elif transition == 'start':
            engine.start(name)
        elif transition == 'stop':
            engine.stop(name)
        elif transition == 'kill':
            engine.kill(name, 'KILL')
        elif transition == 'pause':
            engine.pause(name)
        elif transition == 'unpause':
            engine.unpause(name)
        elif transition == 'restart':
            engine.restart(name)
        elif transition == 'remove':
            engine.remove(name, force=bool(self.params.get('force')), timeout=0 if force_kill else None)
        else:  # pragma: no cover - plan() only returns the transitions above
            raise ConfigError('unknown transition %r' % transition)


def puller_for(params, run_binary=None):
    """container_state's PodmanPull: credentials, TLS and platform from ``params``; with ``run_binary`` (a binary
    run_command for gpg), the signature policy of O(signature_policy)/O(registries_d) too."""
    # Imported here: a no-op run loads neither the registry core nor the signature code (docs/performance.md).
    from ansible_collections.podkit.containers.plugins.module_utils.lifecycle.pull import PodmanPull, signature_settings
    signatures = signature_settings(params, run_binary) if run_binary is not None else None
    return PodmanPull(RegistryOptions.from_params(params), platform=params.get('platform'), signatures=signatures)


def run(params, run_command, run_binary=None, check_mode=False):
    """The container_state task: ``params`` are the module's, ``run_command``/``run_binary`` run podman and gpg."""
    engine = PodmanEngine(run_command, executable=params.get('executable') or 'podman')
    return ContainerManager(engine, params, check_mode=check_mode, puller_factory=lambda: puller_for(params, run_binary)).apply()
