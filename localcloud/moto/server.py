"""moto_server with IAM enforcement fitted to the local cloud (moto 5.2.5).

    python localcloud/moto/server.py -H 127.0.0.1 -p 4567

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

Everything else (credentials, signatures, identity policies, AccessDenied answers) is moto's.
"""

import os
import sys

from moto.iam import access_control
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

if __name__ == "__main__":
    main(sys.argv[1:])
