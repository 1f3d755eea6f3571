"""moto_server with IAM enforcement fitted to the local cloud (moto 5.2.5).

    python local/localcloud/moto/server.py -H 127.0.0.1 -p 4567

Starts moto's own server after two changes to how it evaluates IAM policies
(moto.iam.access_control.IAMPolicyStatement):

1. Resource matching where moto does not know the resource. moto works out the resource of a
   request for S3, SQS, IAM and STS only; for every other service it checks the statement's
   Resource against "*", which no specific ARN matches, so a least-privilege statement such as
   dynamodb:PutItem on one table's ARN denies every call. Here such a request matches on the
   action alone (the statement's resource is not checked): resource-level checks happen only
   where moto knows the resource. A wrong table ARN in a policy is therefore not caught.
2. Service principals in trust policies. A role whose trust policy names only a service
   principal (lambda.amazonaws.com, states.amazonaws.com) makes moto fail with a 500 when it is
   assumed (it reads Principal.AWS, which is absent). Here the local cloud's administrator, who
   plays the Lambda and Step Functions services, may assume a role trusted by a service
   principal; any other principal is refused as on AWS.

3. Signatures of form-encoded requests. For a body of type application/x-www-form-urlencoded
   (the query protocol: SNS, IAM, STS, ...) moto checks the signature over the form as Python
   re-encodes it, not over the bytes received; the AWS SDK for Rust encodes a space as %20 where
   Python writes +, so every such call with a space in it failed with SignatureDoesNotMatch.
   Here the signature is checked over the body as received, as AWS does.

4. The state machine a Step Functions task call comes from. moto's interpreter signs every call
   of every state machine with the same fixed key ("ak"), so the front door, which signs them
   again with the state machine role's keys, cannot tell two state machines apart. Here each
   call also carries the execution's role ARN in the header x-localcloud-state-machine-role
   (the front door removes it before signing).

5. Speed, without a change of behaviour. moto's clock (moto.core.utils.unix_time and
   unix_time_millis, without an argument) builds two datetimes per call, and SQS calls it
   three times per message held in a queue on every ReceiveMessage and GetQueueAttributes: a
   third of moto's time once a few hundred S3 notifications wait in a queue. Here it reads
   time.time(), the same number. The dispatcher lists moto's package directory (one stat per
   service) on every request, under a lock; here that list is read once.

Everything else (credentials, signatures, identity policies, AccessDenied answers) is moto's.
"""

import io
import os
import sys
import threading
import time
import types

from moto.iam import access_control
from moto.moto_server import werkzeug_app
from moto.server import main

SERVICE_ROLE_ASSUMER = os.environ.get(
    "LOCALCLOUD_SERVICE_PRINCIPAL", "arn:aws:iam::123456789012:user/localcloud-admin"
)

_check_element_matches = access_control.IAMPolicyStatement._check_element_matches


def check_element_matches(self, statement_element, value):
    if statement_element == "Resource" and value == "*":
        return True
    return _check_element_matches(self, statement_element, value)


def check_principal(self, principal):
    expected = self._statement.get("Principal")
    if not expected:
        return True
    if expected == "*":
        return True
    if "AWS" in expected:
        aws = expected["AWS"]
        return aws == "*" or principal == aws or (isinstance(aws, list) and principal in aws)
    if "Service" in expected:
        return principal == SERVICE_ROLE_ASSUMER
    return False


access_control.IAMPolicyStatement._check_element_matches = check_element_matches
access_control.IAMPolicyStatement._check_principal = check_principal

# The body of the request being served, as received (the server runs one thread per request).
_request = threading.local()
_dispatch = werkzeug_app.DomainDispatcherApplication.__call__


def dispatch(self, environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    _request.body = body
    return _dispatch(self, environ, start_response)


_init = access_control.IAMRequestBase.__init__


def init(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    if not self._body:
        self._body = getattr(_request, "body", b"") or self._body


werkzeug_app.DomainDispatcherApplication.__call__ = dispatch
access_control.IAMRequestBase.__init__ = init

# 4. The execution's role on every task call of the interpreter. Modules import
# boto_client_for by name, so the function's code is replaced in place (every import sees it).
from moto.stepfunctions.parser.asl.utils import boto_client as _sfn_boto_client  # noqa: E402

STATE_MACHINE_ROLE_HEADER = "x-localcloud-state-machine-role"


def _add_role_header(role_arn, request, **kwargs):
    request.headers[STATE_MACHINE_ROLE_HEADER] = role_arn


def _boto_client_for_with_role(region, service, state_credentials=None):
    client = _localcloud_boto_client_for(region, service, state_credentials)  # noqa: F821
    role_arn = getattr(state_credentials, "role_arn", None)
    if role_arn:
        client.meta.events.register(
            "before-sign", lambda request, **kw: _localcloud_add_role(role_arn, request)  # noqa: F821
        )
    return client


_original = _sfn_boto_client.boto_client_for
_sfn_boto_client._localcloud_boto_client_for = types.FunctionType(
    _original.__code__, _original.__globals__, "boto_client_for", _original.__defaults__
)
_sfn_boto_client._localcloud_add_role = _add_role_header
_original.__code__ = _boto_client_for_with_role.__code__

# 5. Speed. Modules import unix_time and unix_time_millis by name, so their code is replaced
# in place; the originals stay reachable for an explicit datetime.
from moto import backends as _backends  # noqa: E402
from moto.core import utils as _core_utils  # noqa: E402


def _unix_time_now_or(dt=None):
    if dt is None:
        return _localcloud_time()  # noqa: F821
    return _localcloud_unix_time(dt)  # noqa: F821


def _unix_time_millis_now_or(dt=None):
    if dt is None:
        return _localcloud_time() * 1000.0  # noqa: F821
    return _localcloud_unix_time(dt) * 1000.0  # noqa: F821


_core_utils._localcloud_time = time.time
_core_utils._localcloud_unix_time = types.FunctionType(
    _core_utils.unix_time.__code__, _core_utils.unix_time.__globals__, "unix_time",
    _core_utils.unix_time.__defaults__,
)
_core_utils.unix_time.__code__ = _unix_time_now_or.__code__
_core_utils.unix_time_millis.__code__ = _unix_time_millis_now_or.__code__

_moto_modules = tuple(_backends.list_of_moto_modules())
_backends.list_of_moto_modules = lambda: _moto_modules

if os.environ.get("LOCALCLOUD_DEBUG_SIGNATURES"):
    _check_signature = access_control.IAMRequestBase.check_signature

    def check_signature(self):
        try:
            return _check_signature(self)
        except Exception:
            request = self._create_aws_request()
            auth = self._create_auth(self._access_key.create_credentials())
            print("SIGNATURE MISMATCH", self._method, self._path, "body:", repr(self._body[:300]), "data:", repr(self._data)[:300], "canonical:", auth.canonical_request(request), file=sys.stderr, flush=True)
            raise

    access_control.IAMRequestBase.check_signature = check_signature

if __name__ == "__main__":
    main(sys.argv[1:])
