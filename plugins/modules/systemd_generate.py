#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: systemd_generate
short_description: Install a systemd unit or a Quadlet file that runs a podman container at boot
version_added: 0.1.0
description:
  - Renders a systemd service for one container and installs it, so that systemd (not Ansible) creates
    and starts the container at boot and restarts it when it fails.
  - O(format=unit) writes C(container-NAME.service), the unit C(podman generate systemd --new --name) of
    podman 4.3 writes - the container is created by C(podman run --rm --replace) at every start, so nothing
    but the unit and the image has to survive a reboot. It works with podman 4.x without Quadlet.
  - O(format=quadlet) writes C(NAME.container) for the Quadlet generator of podman 4.4 or later, which
    turns it into C(NAME.service) at boot and at every C(systemctl daemon-reload). Only keys of podman 4.4 are
    written - C(Image), C(ContainerName), C(Environment), C(Label), C(PublishPort), C(Volume), C(User),
    C(Network), C(Exec), C(PodmanArgs) - options with a key of a later release (C(WorkingDir) and C(HostName)
    4.6, C(Entrypoint) and C(StopTimeout) 5.0, C(StopSignal) 5.2, C(HealthCmd) 4.5) go to C(PodmanArgs=) so
    that one file works from 4.4 on. The tests run Quadlet files through podman 5.4's generator in a real
    systemd 257 user manager (and check them against that key list on podman 4.3, which has no generator).
  - O(format=auto) (the default) picks Quadlet where podman is 4.4 or later, the rendered unit before; a file
    already installed for the container keeps its format.
  - The container options have the names and meaning of M(podkit.containers.container_state), and are
    validated and rendered by the same code, so a role can pass one spec to both modules.
  - The file is written only when its content differs - rendered, compared with the file on disk, written to
    a temporary file in the same directory and renamed over it (mode 0644, missing directories created).
  - 'Order: when the file has to change and O(daemon_reload=true), the systemd manager of O(scope) is
    contacted first (C(systemctl [--user] show)); without one the task fails before anything is written.
    Then the file is written and the manager reloaded; if the reload fails, the previous file is put back
    (or the new one removed) before the task fails. So the unit is never left installed but unknown to systemd.'
  - The module does not enable or start the unit; use M(ansible.builtin.systemd_service) for that.
  - 'Check mode: the unit is rendered and compared with the file on disk, C(changed), RV(diff) and
    RV(content) say what would be written, and the manager is contacted (read-only) when a reload would be
    needed, so a missing user manager fails in check mode too. Nothing is written, removed or reloaded.'
author:
  - podkit.containers maintainers (@podkit)
extends_documentation_fragment:
  - podkit.containers.container_spec
  - podkit.containers.auth
  - podkit.containers.attributes
  - podkit.containers.attributes.actiongroup_podman
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  name:
    description:
      - Name of the container the unit runs (C(podman run --name)).
      - With O(from_container=true), the existing container to render the unit from.
    type: str
    required: true
  image:
    description:
      - Image the unit runs. Required with O(state=present) unless O(from_container=true).
      - The image is pulled by C(podman run) at start when it is not in local storage; see O(auth_file).
    type: str
  state:
    description:
      - V(present) installs the file, V(absent) removes it (and reloads the manager when it was there).
    type: str
    choices: [present, absent]
    default: present
  format:
    description:
      - V(unit) - a systemd service (C(container-NAME.service)) like C(podman generate systemd --new).
      - V(quadlet) - a Quadlet file (C(NAME.container); the service is C(NAME.service)); needs podman 4.4 or later.
      - V(auto) - the format of the file already installed for this container, if there is one (so a podman
        upgrade never leaves two services for one container); else V(quadlet) when C(podman version) (of
        O(executable)) is 4.4 or later, V(unit) before. V(unit) with O(from_container=true). RV(format) says
        which one was used.
    type: str
    choices: [auto, unit, quadlet]
    default: auto
  scope:
    description:
      - V(system) - the system manager; the file goes to C(/etc/systemd/system) (unit) or C(/etc/containers/systemd) (quadlet).
      - V(user) - the user manager of the user the module runs as (use C(become_user));
        C($XDG_CONFIG_HOME/systemd/user) or C(~/.config/systemd/user) (unit), C(~/.config/containers/systemd) (quadlet).
        A user manager runs only while the user is logged in, or always with lingering (C(loginctl enable-linger USER)).
      - Default V(system) when the module runs as root, else V(user).
    type: str
    choices: [system, user]
  dest:
    description:
      - Directory to write the file to instead of the default of O(format) and O(scope).
    type: path
  unit_name:
    description:
      - Name of the service. Default C(container-NAME.service) for O(format=unit), C(NAME.service) (file
        C(NAME.container)) for O(format=quadlet). A name without suffix gets the one of O(format).
    type: str
  from_container:
    description:
      - Render the unit from an existing container (C(podman container inspect)) instead of the options given
        here - its recorded C(podman create) command line with the options the unit sets itself (C(--name),
        C(-d), C(--rm), C(--replace), C(--cidfile), C(--sdnotify), C(--cgroups), C(-i), C(-t)) removed, as
        C(podman generate systemd --new) does. O(stop_timeout) defaults to the container's.
      - Only with O(format=unit) - Quadlet needs the options one by one, which podman does not record.
    type: bool
    default: false
  restart_policy:
    description:
      - systemd C(Restart=) of the service.
      - The podman restart policies of M(podkit.containers.container_state) are accepted too - V(unless-stopped)
        becomes V(always) and C(on-failure:N) V(on-failure) - so that one role variable fits both modules.
        The container itself gets no podman restart policy - systemd restarts it.
    type: str
    default: on-failure
  restart_sec:
    description:
      - systemd C(RestartSec=), a time span (V(5), V(30s), V(1min)).
    type: str
  stop_timeout:
    description:
      - Seconds C(podman stop) waits before it kills the container (C(--stop-timeout) of the container and
        C(-t) of C(ExecStop)). systemd's C(TimeoutStopSec=) is this plus 60, as podman sets it. Default 10.
    type: int
  after:
    description:
      - Units added as C(After=) (besides C(network-online.target)).
    type: list
    elements: str
  wants:
    description:
      - Units added as C(Wants=).
    type: list
    elements: str
  requires:
    description:
      - Units added as C(Requires=).
    type: list
    elements: str
  environment:
    description:
      - Environment of the podman process (systemd C(Environment=)), for example C(CONTAINERS_CONF) or
        C(REGISTRY_AUTH_FILE). Not the container's environment - that is O(env).
    type: dict
  auth_file:
    description:
      - Path of a containers-auth.json(5) file passed as C(--authfile), so that a pull at boot finds its credentials.
      - Must survive a reboot - a path under C(/run) or C($XDG_RUNTIME_DIR) (where C(podman login) writes by
        default) is refused, because it is empty at boot.
    type: path
  daemon_reload:
    description:
      - Run C(systemctl daemon-reload) (C(systemctl --user daemon-reload) for O(scope=user)) after the file changed.
      - With V(false) the manager is never contacted (for image builds, or a host whose manager is not running).
    type: bool
    default: true
  executable:
    description:
      - podman executable for C(ExecStart) (an absolute path, or a name looked up in C(PATH); V(/usr/bin/podman)
        when not found) and for O(from_container).
    type: str
    default: podman
notes:
  - The registry options other than O(auth_file) (O(username), O(password), O(validate_certs), O(ca_cert),
    O(client_cert), O(client_key), O(insecure), O(registries_conf), O(timeout)) are accepted so that
    C(module_defaults) for C(group/podkit.containers.podman) reach this module, and are not written into the file
    - credentials never go into a unit. A pull at boot authenticates with O(auth_file) (see
    M(podkit.containers.registry_login)) and reads podman's own registries.conf and certificates.
  - Values are written with systemd's quoting - words with blanks or quotes are double-quoted, C(%) becomes
    C(%%) and C($) becomes C($$) in command lines - so they reach podman unchanged. A value with a newline or
    another control character cannot be written to a unit line and fails with a message naming the option.
  - For O(scope=user) C(systemctl --user) needs the manager's C(XDG_RUNTIME_DIR); when it is not in the
    environment (as after C(become)) C(/run/user/UID) is used if it exists.
  - Quadlet key versions (podman-systemd.unit(5)) - 4.4 C(Image), C(ContainerName), C(Environment), C(Label),
    C(PublishPort), C(Volume), C(User), C(Network), C(Exec), C(PodmanArgs); 4.5 C(HealthCmd), C(Tmpfs), C(Mount);
    4.6 C(HostName), C(WorkingDir), C(Pull); 4.7 C(Ulimit), C(ShmSize); 5.0 C(Entrypoint), C(StopTimeout);
    5.2 C(StopSignal). This module writes the 4.4 ones only.
seealso:
  - module: podkit.containers.container_state
  - module: ansible.builtin.systemd_service
'''

EXAMPLES = r'''
- name: Run the web container at boot (root, system manager)
  podkit.containers.systemd_generate:
    name: web
    image: registry.example.com/web:1.4
    ports: ['8080:80']
    volumes: ['/srv/web:/usr/share/nginx/html:ro']
    env:
      TZ: UTC
    auth_file: /etc/containers/auth.json
  register: unit

- name: Enable and start it
  ansible.builtin.systemd_service:
    name: "{{ unit.unit_name }}"
    enabled: true
    state: started

- name: A rootless container in the user manager of app (lingering enabled)
  become: true
  become_user: app
  podkit.containers.systemd_generate:
    name: worker
    image: registry.example.com/worker:2
    scope: user
    restart_policy: always
    restart_sec: 5s
    environment:
      CONTAINERS_CONF: /home/app/.config/containers/containers.conf

- name: The same container as a Quadlet file (podman 4.4 or later)
  podkit.containers.systemd_generate:
    name: web
    image: registry.example.com/web:1.4
    format: quadlet
    ports: ['8080:80']

- name: A unit for a container created by hand, like podman generate systemd --new
  podkit.containers.systemd_generate:
    name: legacy
    from_container: true

- name: Remove the unit
  podkit.containers.systemd_generate:
    name: web
    state: absent
'''

RETURN = r'''
unit_name:
  description: Name of the service to start, enable or stop (for O(format=quadlet) the service Quadlet generates).
  returned: always
  type: str
  sample: container-web.service
path:
  description: Path of the file written or removed.
  returned: always
  type: str
  sample: /etc/systemd/system/container-web.service
content:
  description: Text of the file (what is or would be installed); null with O(state=absent).
  returned: always
  type: str
format:
  description: The format of the file, V(unit) or V(quadlet) (what O(format=auto) chose).
  returned: always
  type: str
  sample: quadlet
daemon_reloaded:
  description: Whether the systemd manager was reloaded.
  returned: always
  type: bool
diff:
  description: The file before and after, with its path as header (C((absent)) when it does not exist).
  returned: always
  type: dict
  sample:
    before: ''
    after: "# container-web.service ..."
    before_header: /etc/systemd/system/container-web.service (absent)
    after_header: /etc/systemd/system/container-web.service
'''

import gc

from ansible.module_utils.basic import AnsibleModule

# Everything imported so far lives until this short process exits; frozen, it is not rescanned by the garbage
# collector while podkit's module_utils are compiled and run (~15-20 ms per task, docs/performance.md).
gc.freeze()

from ansible_collections.podkit.containers.plugins.module_utils.common import AUTH_OPTIONS, command_runner, module_kwargs, run_module
from ansible_collections.podkit.containers.plugins.module_utils.usecases.systemd_generate import container_spec_argspec, generate


def main():
    module = AnsibleModule(**module_kwargs(dict(
        name=dict(type='str', required=True),
        image=dict(type='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        format=dict(type='str', default='auto', choices=['auto', 'unit', 'quadlet']),
        scope=dict(type='str', choices=['system', 'user']),
        dest=dict(type='path'),
        unit_name=dict(type='str'),
        from_container=dict(type='bool', default=False),
        restart_policy=dict(type='str', default='on-failure'),
        restart_sec=dict(type='str'),
        after=dict(type='list', elements='str'),
        wants=dict(type='list', elements='str'),
        requires=dict(type='list', elements='str'),
        environment=dict(type='dict'),
        daemon_reload=dict(type='bool', default=True),
        executable=dict(type='str', default='podman'),
    ), groups=(container_spec_argspec(), AUTH_OPTIONS)))
    run_module(module, generate, module.params, command_runner(module), check_mode=module.check_mode)


if __name__ == '__main__':
    main()
