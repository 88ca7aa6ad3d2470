"""The test processes' memos of botocore's event aliases and handler signatures
(tests/botocore_memos.py) give botocore's own answers."""

import functools

import boto3
import botocore.session
from botocore import hooks
from botocore.compat import accepts_kwargs
from botocore.handlers import BUILTIN_HANDLERS

from tests import botocore_memos


def _fresh_aliases(event_name: str) -> str:
    """botocore's alias for the name, from an aliaser that has seen nothing."""
    aliaser = hooks.EventAliaser(hooks.HierarchicalEmitter())
    aliaser._alias_name_cache = {}
    return aliaser._alias_event_name(event_name)


def test_every_event_a_session_and_its_clients_register_is_aliased_as_botocore_would():
    botocore_memos.install()  # done by tests/conftest.py; installing again changes nothing
    session = botocore.session.Session()
    for service in ("dynamodb", "sqs", "secretsmanager", "ses", "pinpoint-sms-voice-v2"):
        session.create_client(service, region_name="us-east-1")
    names = {name for name, *_ in BUILTIN_HANDLERS} | {
        "before-call.apigateway",
        "before-parameter-build.autoscaling.CreateLaunchConfiguration",
        "request-created.cloudsearchdomain.Search",
        "docs.*.autoscaling.CreateLaunchConfiguration.complete-section",
    }
    assert botocore_memos._aliased  # filled, and shared
    assert {name for name in names if _fresh_aliases(name) != name}  # aliases are exercised
    for name in names | set(botocore_memos._aliased):
        assert session._events._alias_event_name(name) == _fresh_aliases(name), name


def test_a_clients_emitter_shares_the_cache_and_a_table_of_its_own_does_not():
    client = boto3.session.Session().client("sqs", region_name="us-east-1")
    assert client.meta.events._alias_name_cache is botocore_memos._aliased

    own = hooks.EventAliaser(hooks.HierarchicalEmitter(), {"old": "new"})
    assert own._alias_name_cache is not botocore_memos._aliased
    assert own._alias_event_name("before-call.old") == "before-call.new"


def test_whether_a_handler_takes_kwargs_is_botocores_answer():
    def plain(a, b):
        return a

    def keyword(a, **kwargs):
        return a

    class Handler:
        def method(self, **kwargs):
            return kwargs

        def strict(self, a):
            return a

    handlers = [
        plain,
        keyword,
        Handler().method,
        Handler().strict,
        functools.partial(keyword, 1),
        functools.partial(plain, 1),
        *(handler for _, handler, *_ in BUILTIN_HANDLERS),
    ]
    for handler in handlers * 2:  # the second time from the memo
        assert hooks.accepts_kwargs(handler) == accepts_kwargs(handler), handler
    assert hooks.accepts_kwargs is not accepts_kwargs
