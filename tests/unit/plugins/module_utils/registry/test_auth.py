# -*- coding: utf-8 -*-
# Copyright: podkit.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

import pytest

from ansible_collections.podkit.containers.plugins.module_utils.errors import (
    AuthenticationError,
    CleartextRefusedError,
    CredentialsWithheldError,
)
from ansible_collections.podkit.containers.plugins.module_utils.registry.auth import (
    Authenticator,
    _lifetime,
    merge_scopes,
    parse_www_authenticate,
    repository_scope,
    split_scope,
)


def challenges(header):
    return [(c.scheme, c.params) for c in parse_www_authenticate(header)]


@pytest.mark.parametrize('header, expected', [
    ('', []),
    (None, []),
    ('Basic realm="Registry Realm"', [('basic', {'realm': 'Registry Realm'})]),
    ('BASIC realm=registry', [('basic', {'realm': 'registry'})]),
    ('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
     [('bearer', {'realm': 'https://auth.docker.io/token', 'service': 'registry.docker.io', 'scope': 'repository:library/alpine:pull'})]),
    # quoted string with an escaped quote and a comma inside
    ('Bearer realm="https://a/t",service="svc \\"x\\", y"',
     [('bearer', {'realm': 'https://a/t', 'service': 'svc "x", y'})]),
    # spaces around '=' and after commas
    ('Bearer realm = "https://a/t" ,  service = svc', [('bearer', {'realm': 'https://a/t', 'service': 'svc'})]),
    # two challenges in one header
    ('Basic realm="r1", Bearer realm="https://a/t",service="s"',
     [('basic', {'realm': 'r1'}), ('bearer', {'realm': 'https://a/t', 'service': 's'})]),
    ('Negotiate, Basic realm="x"', [('negotiate', {}), ('basic', {'realm': 'x'})]),
    # repeated scope parameters are all kept
    ('Bearer realm="https://a/t",scope="repository:a:pull",scope="repository:b:pull"',
     [('bearer', {'realm': 'https://a/t', 'scope': 'repository:a:pull repository:b:pull'})]),
    # error parameter of an insufficient scope answer, parameter names are case-insensitive
    ('Bearer Realm="https://a/t",Error="insufficient_scope"', [('bearer', {'realm': 'https://a/t', 'error': 'insufficient_scope'})]),
    # token68 form
    ('Basic dXNlcjpwYXNz==', [('basic', {})]),
    # unterminated quoted string does not hang
    ('Bearer realm="https://a/t', [('bearer', {'realm': 'https://a/t'})]),
])
def test_parse_www_authenticate(header, expected):
    assert challenges(header) == expected


def test_repeated_scope_list_and_token68():
    parsed = parse_www_authenticate('Bearer realm="r",scope="repository:a:pull",scope="repository:b:push"')[0]
    assert parsed.scopes == ['repository:a:pull', 'repository:b:push']
    assert parsed.realm == 'r'
    assert parse_www_authenticate('Basic dXNlcjpwYXNz==')[0].token68 == 'dXNlcjpwYXNz=='


@pytest.mark.parametrize('repository, actions, expected', [
    ('library/alpine', ('pull',), 'repository:library/alpine:pull'),
    ('library/alpine', 'pull,push', 'repository:library/alpine:pull,push'),
    ('a/b/c', ['pull', 'push', 'pull'], 'repository:a/b/c:pull,push'),
])
def test_repository_scope(repository, actions, expected):
    assert repository_scope(repository, actions) == expected


@pytest.mark.parametrize('scopes, expected', [
    ([], ()),
    (['repository:a:pull'], ('repository:a:pull',)),
    (['repository:a:push', 'repository:a:pull'], ('repository:a:pull,push',)),
    (['repository:a:pull', 'repository:b:pull', 'repository:a:push'], ('repository:a:pull,push', 'repository:b:pull')),
    (['repository:a:pull repository:b:pull'], ('repository:a:pull', 'repository:b:pull')),
    (['registry:catalog:*'], ('registry:catalog:*',)),
    (['repository(plugin):a:pull'], ('repository(plugin):a:pull',)),
])
def test_merge_scopes(scopes, expected):
    assert merge_scopes(scopes) == expected


def test_split_scope_name_with_colon():
    assert split_scope('repository:host:5000/a:pull,push') == ('repository', 'host:5000/a', ['pull', 'push'])


# -- Authenticator with a scripted token server ----------------------------------------------------

class FakeResponse(object):
    def __init__(self, status, body):
        self.status_code = status
        self.content = body if isinstance(body, bytes) else json.dumps(body).encode('utf-8')


class Creds(object):
    def __init__(self, username=None, password=None, identity_token=None):
        self.username = username
        self.password = password
        self.identity_token = identity_token


class Clock(object):
    def __init__(self):
        self.now = 1700000000.0

    def __call__(self):
        return self.now


class TokenServer(object):
    def __init__(self, answers=None):
        self.calls = []
        self.answers = list(answers or [])

    def __call__(self, method, url, **kwargs):
        self.calls.append((method, url, kwargs))
        if self.answers:
            return self.answers.pop(0)
        return FakeResponse(200, {'token': 'tok%d' % len(self.calls)})


BEARER = 'Bearer realm="https://auth.example/token?x=1",service="reg.example"'


def make_auth(answers=None, creds=None, clock=None):
    server = TokenServer(answers)
    auth = Authenticator('reg.example', server, lambda repository: creds, clock=clock or Clock())
    auth.learn(BEARER)
    return auth, server


def test_anonymous_token_request_has_service_and_scopes():
    auth, server = make_auth()
    value = auth.authorization(['repository:a:pull', 'repository:b:pull'])
    assert value == 'Bearer tok1'
    method, url, kwargs = server.calls[0]
    assert method == 'GET' and url.startswith('https://auth.example/token')
    assert ('service', 'reg.example') in kwargs['params']
    assert [v for k, v in kwargs['params'] if k == 'scope'] == ['repository:a:pull', 'repository:b:pull']
    assert 'Authorization' not in kwargs['headers']


def test_token_with_credentials_uses_basic_and_access_token_field():
    auth, server = make_auth([FakeResponse(200, {'access_token': 'acc'})], creds=Creds('bob', 'pw'))
    assert auth.authorization(['repository:a:pull']) == 'Bearer acc'
    headers = server.calls[0][2]['headers']
    assert headers['Authorization'] == 'Basic ' + base64.b64encode(b'bob:pw').decode('ascii')


def test_token_cache_per_scope_set_and_expiry():
    clock = Clock()
    auth, server = make_auth([FakeResponse(200, {'token': 't1', 'expires_in': 300}),
                              FakeResponse(200, {'token': 't2'}),
                              FakeResponse(200, {'token': 't3', 'expires_in': 300})], clock=clock)
    assert auth.authorization(['repository:a:pull']) == 'Bearer t1'
    assert auth.authorization(['repository:a:pull']) == 'Bearer t1'
    assert len(server.calls) == 1
    # another scope set -> another token (default lifetime 60 s)
    assert auth.authorization(['repository:a:pull', 'repository:b:pull']) == 'Bearer t2'
    clock.now += 55  # within the refresh margin of the 60 s token
    assert auth.authorization(['repository:b:pull', 'repository:a:pull']) == 'Bearer t3'
    clock.now += 200
    assert auth.authorization(['repository:a:pull']) == 'Bearer t1'
    clock.now += 100
    assert len(server.calls) == 3
    auth.authorization(['repository:a:pull'])
    assert len(server.calls) == 4


def test_issued_at_is_honoured():
    clock = Clock()
    # issued 50 s ago (server time == local time), lives 60 s: 10 s left, less than twice the margin -> used for
    # half of that, then refetched
    auth, server = make_auth([FakeResponse(200, {'token': 't1', 'expires_in': 60, 'issued_at': '2023-11-14T22:12:30Z'}),
                              FakeResponse(200, {'token': 't2', 'expires_in': 60})], clock=clock)
    assert clock.now == 1700000000.0  # 2023-11-14T22:13:20Z
    assert auth.authorization(['s:a:pull']) == 'Bearer t1'
    clock.now += 4.9
    assert auth.authorization(['s:a:pull']) == 'Bearer t1'
    clock.now += 0.2
    assert auth.authorization(['s:a:pull']) == 'Bearer t2'
    assert len(server.calls) == 2


@pytest.mark.parametrize('expires_in', [1, 5, 19])
def test_short_lived_token_is_not_fetched_for_every_request(expires_in):
    clock = Clock()
    auth, server = make_auth([FakeResponse(200, {'token': 't%d' % i, 'expires_in': expires_in}) for i in range(1, 4)], clock=clock)
    for dummy in range(20):
        assert auth.authorization(['repository:a:pull']) == 'Bearer t1'
    assert len(server.calls) == 1
    clock.now += min(10, expires_in / 2.0) + 0.01
    assert auth.authorization(['repository:a:pull']) == 'Bearer t2'


@pytest.mark.parametrize('expires_in, lifetime', [
    (10 ** 400, 86400),         # an integer beyond any float: no OverflowError
    (1e308, 86400),
    (-5, 60),
    (0, 60),
    (True, 60),
    ('300', 60),
    (300, 300),
])
def test_expires_in_is_clamped(expires_in, lifetime):
    clock = Clock()
    body = b'{"token": "t1", "expires_in": %s}' % (str(expires_in).encode() if not isinstance(expires_in, str) else b'"300"')
    body = body.replace(b'True', b'true')
    auth, dummy = make_auth([FakeResponse(200, body)], clock=clock)
    token = auth.token(['repository:a:pull'])
    assert token.expires_at - clock.now == lifetime


def test_lifetime_of_non_finite_numbers():
    # The document parser refuses NaN and Infinity; the clamp does not rely on it.
    assert _lifetime(float('inf')) == 86400 and _lifetime(float('nan')) == 60 and _lifetime(None) == 60


@pytest.mark.parametrize('value', ['zq9\r\nX-Injected: 1', 'zq9\n', 'zq9\x00en', 'zqö9', 'zq9\u2028', ' zq9', 'zq9\t', '\x7f'])
def test_token_with_control_or_non_ascii_characters_is_refused_unquoted(value):
    auth, dummy = make_auth([FakeResponse(200, {'token': value})], creds=Creds('bob', 'hunter2'))
    with pytest.raises(AuthenticationError) as info:
        auth.authorization(['repository:a:pull'])
    assert info.value.msg == ('token server https://auth.example/token answered an invalid response: the token has control, '
                              'space-only or non-ASCII characters and cannot be sent in an HTTP header')
    assert value.strip() not in info.value.msg + repr(info.value.details)


class Redirecting(TokenServer):
    """Answers the first request with a redirect to ``location`` (status ``status``)."""

    def __init__(self, location, status=307, answers=None):
        super(Redirecting, self).__init__(answers)
        self.location = location
        self.status = status

    def __call__(self, method, url, **kwargs):
        if not self.calls:
            self.calls.append((method, url, kwargs))
            response = FakeResponse(self.status, b'')
            response.headers = {'Location': self.location}
            return response
        return super(Redirecting, self).__call__(method, url, **kwargs)


def make_auth_with(server, creds=None, challenge=BEARER, cleartext_ok=None):
    auth = Authenticator('reg.example', server, lambda repository: creds, clock=Clock(), cleartext_ok=cleartext_ok)
    auth.learn(challenge)
    return auth


@pytest.mark.parametrize('creds, what', [(Creds('bob', 'hunter2'), 'the credentials of user bob'),
                                         (Creds(identity_token='rt-secret'), 'the identity token')])
def test_http_realm_gets_no_credentials(creds, what):
    server = TokenServer()
    auth = make_auth_with(server, creds, 'Bearer realm="http://auth.example/token?x=1",service="reg.example"')
    with pytest.raises(CleartextRefusedError) as info:
        auth.authorization(['repository:a:pull'])
    assert server.calls == []  # refused before anything was sent
    assert info.value.msg == ('the registry reg.example announces the token server http://auth.example/token, which is plain '
                              'http: not sending %s there in cleartext; have the registry announce an https token realm, or, '
                              'only for a plain-http registry, mark it insecure (insecure: true or registries.conf)' % what)
    # Anonymous token requests carry nothing secret; a plain-http insecure registry may use an http realm.
    assert make_auth_with(TokenServer(), None, 'Bearer realm="http://auth.example/token"').authorization(['s:a:pull']) == 'Bearer tok1'
    allowed = TokenServer()
    make_auth_with(allowed, creds, 'Bearer realm="http://auth.example/token"', cleartext_ok=lambda: True).authorization(['s:a:pull'])
    assert len(allowed.calls) == 1


def test_token_redirect_to_another_origin_withholds_basic_and_says_so():
    server = Redirecting('http://elsewhere.example/token?y=2', answers=[FakeResponse(401, b'')])
    auth = make_auth_with(server, Creds('bob', 'hunter2'))
    with pytest.raises(CredentialsWithheldError) as info:
        auth.authorization(['repository:a:pull'])
    first, second = server.calls
    assert first[2]['headers']['Authorization'].startswith('Basic ')
    assert second[1] == 'http://elsewhere.example/token?y=2' and 'Authorization' not in second[2]['headers']
    assert second[2]['params'] is None and all(call[2]['allow_redirects'] is False for call in server.calls)
    assert info.value.msg == ('unauthorized: token server https://auth.example/token of registry reg.example redirected to '
                              'http://elsewhere.example/token, another origin, which asks for credentials; they were withheld '
                              'from it, not rejected (credentials only go to the realm the registry announces)')
    assert 'rejected the credentials' not in info.value.msg


def test_token_redirect_within_the_origin_keeps_basic():
    server = Redirecting('/v2/token', status=302)
    auth = make_auth_with(server, Creds('bob', 'hunter2'))
    assert auth.authorization(['repository:a:pull']) == 'Bearer tok2'
    assert server.calls[1][1] == 'https://auth.example/v2/token' and server.calls[1][2]['headers']['Authorization'].startswith('Basic ')


def test_identity_token_is_not_posted_to_another_origin():
    server = Redirecting('https://elsewhere.example/token', status=307)
    auth = make_auth_with(server, Creds(identity_token='rt-secret'))
    with pytest.raises(CredentialsWithheldError) as info:
        auth.authorization(['repository:a:pull'])
    assert len(server.calls) == 1 and 'rt-secret' not in info.value.msg
    assert 'another origin' in info.value.msg


def test_token_redirect_loop_ends():
    class Loop(TokenServer):
        def __call__(self, method, url, **kwargs):
            self.calls.append((method, url, kwargs))
            response = FakeResponse(302, b'')
            response.headers = {'Location': '/again'}
            return response

    server = Loop()
    with pytest.raises(AuthenticationError, match='redirected more than 5 times'):
        make_auth_with(server).authorization(['repository:a:pull'])
    assert len(server.calls) == 6


def test_refresh_token_oauth_post():
    auth, server = make_auth([FakeResponse(200, {'access_token': 'acc', 'expires_in': 120})], creds=Creds(identity_token='rt-secret'))
    assert auth.authorization(['repository:a:pull']) == 'Bearer acc'
    method, url, kwargs = server.calls[0]
    assert method == 'POST'
    assert kwargs['data'] == {'grant_type': 'refresh_token', 'refresh_token': 'rt-secret', 'client_id': 'podkit',
                              'service': 'reg.example', 'scope': 'repository:a:pull'}


@pytest.mark.parametrize('answer, fragment', [
    (FakeResponse(500, b'oops'), 'HTTP 500'),
    (FakeResponse(502, b''), 'HTTP 502'),
    (FakeResponse(200, b'<html>'), 'its body is not valid JSON at line 1, column 1'),
    (FakeResponse(200, b'[' * 400000), 'its body is nested deeper than 64 levels'),
    (FakeResponse(200, b' ' * (1024 * 1024 + 1)), 'its body is larger than 1 MiB'),
    (FakeResponse(200, [1, 2]), 'not a JSON object'),
    (FakeResponse(200, {'expires_in': 60}), 'no token or access_token field'),
    (FakeResponse(200, {'token': ''}), 'no token or access_token field'),
])
def test_token_server_garbage(answer, fragment):
    auth, dummy = make_auth([answer], creds=Creds('bob', 'hunter2'))
    with pytest.raises(AuthenticationError) as info:
        auth.authorization(['repository:a:pull'])
    msg = info.value.msg
    assert msg.startswith('token server https://auth.example/token answered an invalid response: ')
    assert fragment in msg
    assert 'hunter2' not in msg and 'x=1' not in msg


def test_token_server_rejects_credentials():
    auth, dummy = make_auth([FakeResponse(401, {'details': 'bad'})], creds=Creds('bob', 'hunter2'))
    with pytest.raises(AuthenticationError) as info:
        auth.authorization(['repository:a:pull'])
    assert info.value.msg == ('unauthorized: the registry reg.example rejected the credentials for user bob; '
                              'log in with podkit.containers.registry_login or pass username/password')
    assert 'hunter2' not in repr(info.value.details)


def test_token_server_requires_login_anonymous():
    auth, dummy = make_auth([FakeResponse(401, b'')])
    with pytest.raises(AuthenticationError, match='requires authentication; log in with podkit.containers.registry_login'):
        auth.authorization(['repository:a:pull'])


def test_refresh_token_rejected():
    auth, dummy = make_auth([FakeResponse(400, {'error': 'invalid_grant'})], creds=Creds(identity_token='rt-secret'))
    with pytest.raises(AuthenticationError) as info:
        auth.authorization(['repository:a:pull'])
    assert 'identity token' in info.value.msg and 'rt-secret' not in info.value.msg


def test_basic_challenge_header_and_anonymous():
    auth = Authenticator('reg.example', None, lambda repository: Creds('u', 'p'))
    assert auth.authorization(['repository:a:pull']) is None  # no challenge learned yet
    auth.learn('Basic realm="x"')
    assert auth.authorization(['repository:a:pull']) == 'Basic dTpw'
    anonymous = Authenticator('reg.example', None, lambda repository: None)
    anonymous.learn('Basic realm="x"')
    assert anonymous.authorization([]) is None


def test_bearer_preferred_over_basic_and_realm_required():
    auth = Authenticator('reg.example', TokenServer(), lambda repository: None)
    assert auth.learn('Basic realm="x", Bearer realm="https://a/t"').scheme == 'bearer'
    auth.learn('Bearer service="x"')
    with pytest.raises(AuthenticationError, match='without a realm'):
        auth.authorization(['repository:a:pull'])
