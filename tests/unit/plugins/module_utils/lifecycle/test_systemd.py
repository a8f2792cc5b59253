# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.errors import ConfigError
from ansible_collections.podkit.containers.plugins.module_utils.lifecycle import systemd


def _spec(**params):
    params.setdefault('image', 'localhost/app:1')
    return systemd.container_spec(params.pop('name', 'web'), params)


def _opts(**kw):
    return systemd.UnitOptions(kw.pop('name', 'web'), **kw)


# ------------------------------------------------------------------ quoting

@pytest.mark.parametrize('value, expected', [
    ('plain', 'plain'),
    ('a b', '"a b"'),
    ('50%', '50%%'),
    ('$HOME', '$$HOME'),
    ('${X}', '"$${X}"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("it's", '"it\'s"'),
    ('back\\slash', '"back\\\\slash"'),
    ('', '""'),
    (';', '";"'),
    ('tab\there', '"tab\there"'),
    ('/usr/bin/podman', '/usr/bin/podman'),
    ('127.0.0.1:8080:80/tcp', '127.0.0.1:8080:80/tcp'),
])
def test_quote_word(value, expected):
    assert systemd.quote_word(value) == expected


def test_quote_word_environment_keeps_dollar():
    assert systemd.quote_word('A=$x 5%', dollar=False) == '"A=$x 5%%"'


@pytest.mark.parametrize('value', ['a\nb', 'a\rb', 'nul\x00', 'bell\x07', 'del\x7f'])
def test_control_characters_cannot_be_expressed(value):
    with pytest.raises(ConfigError) as exc:
        systemd.quote_word(value, option='env')
    assert 'env' in exc.value.msg and 'newline' in exc.value.msg


# ------------------------------------------------------------------ unit rendering

def test_unit_minimal_matches_podman_generate_shape():
    text = systemd.render('unit', _spec(), _opts())[2]
    body = text.split('\n', 3)[3]
    assert body == '''[Unit]
Description=Podman container-web.service
Documentation=man:podman-generate-systemd(1)
Wants=network-online.target
After=network-online.target
RequiresMountsFor=%t/containers

[Service]
Environment=PODMAN_SYSTEMD_UNIT=%n
Restart=on-failure
TimeoutStopSec=70
ExecStartPre=/bin/rm \\
\t-f %t/%n.ctr-id
ExecStart=/usr/bin/podman run \\
\t--cidfile=%t/%n.ctr-id \\
\t--cgroups=no-conmon \\
\t--rm \\
\t--sdnotify=conmon \\
\t-d \\
\t--replace \\
\t--name web \\
\tlocalhost/app:1
ExecStop=/usr/bin/podman stop \\
\t--ignore -t 10 \\
\t--cidfile=%t/%n.ctr-id
ExecStopPost=/usr/bin/podman rm \\
\t-f \\
\t--ignore -t 10 \\
\t--cidfile=%t/%n.ctr-id
Type=notify
NotifyAccess=all

[Install]
WantedBy=multi-user.target
'''


@pytest.mark.parametrize('params, opts, expected', [
    (dict(command=['httpd', '-f', 'a b', '50%', '$HOME']), {}, '\tlocalhost/app:1 httpd -f "a b" 50%% $$HOME\n'),
    (dict(command='sh -c "echo hi"'), {}, '\tlocalhost/app:1 sh -c "echo hi"\n'),
    (dict(env={'B': 'x y', 'A': '1'}), {}, '\t--env A=1 \\\n\t--env "B=x y" \\\n'),
    (dict(ports=['8080:80']), {}, '\t--publish 8080:80/tcp \\\n'),
    (dict(volumes=['/srv:/data:ro']), {}, '\t--volume /srv:/data:ro \\\n'),
    (dict(labels={'k': 'v w'}), {}, '\t--label "k=v w" \\\n'),
    (dict(user='app', workdir='/data', hostname='h'), {}, '\t--user app \\\n\t--workdir /data \\\n'),
    (dict(stop_timeout=20), dict(stop_timeout=20), 'TimeoutStopSec=80\n'),
    (dict(stop_timeout=20), dict(stop_timeout=20), '\t--ignore -t 20 \\\n'),
    (dict(), dict(restart_policy='always', restart_sec='5s'), 'Restart=always\nRestartSec=5s\n'),
    (dict(), dict(restart_policy='unless-stopped'), 'Restart=always\n'),
    (dict(), dict(restart_policy='on-failure:3'), 'Restart=on-failure\n'),
    (dict(), dict(environment={'CONTAINERS_CONF': '/etc/x y.conf', 'P': '$5%'}),
     'Environment="CONTAINERS_CONF=/etc/x y.conf"\nEnvironment=P=$5%%\n'),
    (dict(), dict(after=['a.service'], wants=['b.service'], requires=['c.mount']),
     'After=a.service\nWants=b.service\nRequires=c.mount\nRequiresMountsFor'),
    (dict(), dict(auth_file='/etc/containers/auth.json'), '\t--authfile /etc/containers/auth.json \\\n'),
    (dict(), dict(scope='user'), 'WantedBy=default.target\n'),
    (dict(), dict(podman_path='/opt/podman bin/podman'), 'ExecStart="/opt/podman bin/podman" run'),
])
def test_unit_rendering(params, opts, expected):
    text = systemd.render('unit', _spec(**params), _opts(**opts))[2]
    assert expected in text, text


def test_unit_does_not_pass_podman_restart_policy():
    text = systemd.render('unit', _spec(restart_policy='always'), _opts())[2]
    assert '--restart' not in text


@pytest.mark.parametrize('fmt, scope, environ, expected', [
    ('unit', 'system', {}, '/etc/systemd/system'),
    ('quadlet', 'system', {}, '/etc/containers/systemd'),
    ('unit', 'user', {'HOME': '/home/u'}, '/home/u/.config/systemd/user'),
    ('quadlet', 'user', {'HOME': '/home/u'}, '/home/u/.config/containers/systemd'),
    ('unit', 'user', {'HOME': '/home/u', 'XDG_CONFIG_HOME': '/cfg'}, '/cfg/systemd/user'),
    ('unit', 'user', {'HOME': '/home/u', 'XDG_CONFIG_HOME': 'relative'}, '/home/u/.config/systemd/user'),
])
def test_default_directory(fmt, scope, environ, expected):
    assert systemd.default_directory(fmt, scope, environ=environ) == expected


@pytest.mark.parametrize('fmt, unit_name, expected', [
    ('unit', None, ('container-web.service', 'container-web.service')),
    ('unit', 'web', ('web.service', 'web.service')),
    ('unit', 'my-web.service', ('my-web.service', 'my-web.service')),
    ('quadlet', None, ('web.service', 'web.container')),
    ('quadlet', 'app.container', ('app.service', 'app.container')),
    ('quadlet', 'app.service', ('app.service', 'app.container')),
])
def test_unit_file_name(fmt, unit_name, expected):
    assert systemd.unit_file_name(fmt, 'web', unit_name) == expected


@pytest.mark.parametrize('kwargs, fragment', [
    (dict(unit_name='web@.service'), 'unit_name'),
    (dict(unit_name='a b.service'), 'unit_name'),
    (dict(restart_policy='sometimes'), 'restart_policy'),
    (dict(auth_file='/run/containers/0/auth.json'), 'reboot'),
    (dict(auth_file='/tmp/rt/containers/auth.json', runtime_dir='/tmp/rt'), '/tmp/rt'),
    (dict(auth_file='auth.json'), 'absolute'),
    (dict(environment={'BAD-NAME': 'x'}), 'environment'),
    (dict(environment={'A': 'x\ny'}), 'newline'),
    (dict(after=['bad unit']), 'after'),
    (dict(name='-bad'), 'name'),
])
def test_options_refused(kwargs, fragment):
    with pytest.raises(ConfigError) as exc:
        opts = _opts(**kwargs)
        systemd.render('unit', _spec(), opts)
    assert fragment in exc.value.msg


def test_unit_name_container_suffix_with_unit_format():
    with pytest.raises(ConfigError):
        systemd.render('unit', _spec(), _opts(unit_name='web.container'))


@pytest.mark.parametrize('params, fragment', [
    (dict(env={'A': 'one\ntwo'}), 'env'),
    (dict(command=['echo', 'a\nb']), 'command'),
    (dict(labels={'k': 'v\r'}), 'labels'),
])
def test_spec_values_that_a_unit_cannot_hold(params, fragment):
    for fmt in systemd.FORMATS:
        with pytest.raises(ConfigError) as exc:
            systemd.render(fmt, _spec(**params), _opts())
        assert exc.value.msg.startswith(fragment), exc.value.msg


# ------------------------------------------------------------------ quadlet

def test_quadlet_full():
    spec = _spec(env={'A': 'b c'}, ports=['127.0.0.1:8080:80'], volumes=['/srv:/data:ro'], labels={'k': 'v'},
                 user='app', network=['bridge'], workdir='/data', hostname='h', stop_signal='SIGINT', stop_timeout=15,
                 memory='64m', cpus=0.5, entrypoint=['/bin/sh', '-c'], command=['echo 50%', '$X'],
                 healthcheck={'test': 'true', 'interval': '30s'})
    text = systemd.render('quadlet', spec, _opts(stop_timeout=15, environment={'CONTAINERS_CONF': '/c'},
                                                 auth_file='/etc/auth.json', scope='user'))[2]
    assert '''[Container]
Image=localhost/app:1
ContainerName=web
''' in text
    for line in ['Environment="A=b c"', 'PublishPort=127.0.0.1:8080:80/tcp', 'Volume=/srv:/data:ro', 'Label=k=v',
                 'User=app', 'Network=bridge', 'PodmanArgs=--workdir /data', 'PodmanArgs=--hostname h',
                 'PodmanArgs=--stop-signal 2', 'PodmanArgs=--stop-timeout 15', 'PodmanArgs=--authfile /etc/auth.json',
                 'PodmanArgs=--entrypoint "[\\"/bin/sh\\", \\"-c\\"]"', 'Exec="echo 50%%" $$X',
                 'Environment=CONTAINERS_CONF=/c', 'TimeoutStopSec=75', 'WantedBy=default.target']:
        assert line + '\n' in text, (line, text)


@pytest.mark.parametrize('params', [
    dict(),
    dict(env={'A': '1'}, ports=['80'], volumes=['/a:/b'], labels={'x': 'y'}, user='u', network=['host'],
         workdir='/w', hostname='h', stop_signal='TERM', stop_timeout=3, memory='1g', cpus=2.0,
         entrypoint='/bin/sh', command='sleep 1', healthcheck={'test': ['CMD', 'true'], 'retries': 3}),
])
def test_quadlet_keys_exist_in_the_documented_version(params):
    text = systemd.render('quadlet', _spec(**params), _opts(after=['a.service'], restart_sec=3))[2]
    groups = systemd.quadlet_keys(text)
    assert set(groups) == {'Unit', 'Container', 'Service', 'Install'}
    for key in groups['Container']:
        assert key in systemd.QUADLET_KEYS, key
        assert systemd.QUADLET_KEYS[key] == systemd.QUADLET_MIN_VERSION, key
    assert {'Image', 'ContainerName'} <= set(groups['Container'])
    assert None not in groups


@pytest.mark.parametrize('params, option', [
    (dict(image=' localhost/app:1'), 'image'),
    (dict(image='localhost/app:1\\'), 'image'),
])
def test_quadlet_values_it_cannot_express(params, option):
    with pytest.raises(ConfigError) as exc:
        systemd.render('quadlet', _spec(**params), _opts())
    assert exc.value.details['option'] == option


def test_quadlet_from_container_is_refused():
    with pytest.raises(ConfigError) as exc:
        systemd.render('quadlet', None, _opts(), raw_args=['img'])
    assert 'format=unit' in exc.value.msg


# ------------------------------------------------------------------ from_container

@pytest.mark.parametrize('create, image_name, expected', [
    (['podman', 'create', '--name', 'web', '-e', 'A=b', 'bb:1', 'sleep', '5'], 'localhost/bb:1',
     ['-e', 'A=b', 'bb:1', 'sleep', '5']),
    (['podman', 'run', '-d', '--rm', '--name=web', '-p', '80:80', 'busybox', 'sh', '-c', 'x -d'],
     'docker.io/library/busybox:latest', ['-p', '80:80', 'busybox', 'sh', '-c', 'x -d']),
    (['/usr/bin/podman', 'container', 'create', '-t', '-i', '--cidfile', '/x', 'quay.io/a/b:2'], 'quay.io/a/b:2',
     ['quay.io/a/b:2']),
])
def test_args_from_create_command(create, image_name, expected):
    assert systemd.args_from_create_command(create, image_name) == expected


def test_args_from_create_command_without_record():
    with pytest.raises(ConfigError):
        systemd.args_from_create_command([], 'x')
