"""A moto server, in its own process, that authorises every request against IAM.

Run as ``python -m tests.integration.iam.enforcing_moto PORT``. The environment decides:

- ``INITIAL_NO_AUTH_ACTION_COUNT``: moto's own switch; after that many free actions every
  request must be signed by a known key and be allowed by the caller's IAM policies.
- ``SESSION_SECONDS`` (optional): STS sessions (AssumeRole, AssumeRoleWithWebIdentity) stop
  working after that many real seconds (plus a 2 s grace); requests signed with them then
  get AWS's ``ExpiredToken`` / ``ExpiredTokenException``. The ``Expiration`` the server
  reports is ``SESSION_SECONDS`` + 900 s ahead, so a client that honours it enters botocore's
  15-minute advisory refresh window just before the server starts refusing the session: an
  hour-long session compressed to a few seconds.
- ``STS_LOG`` (optional): a file that gets one line per STS session issued
  (``AssumeRole <access key>`` or ``AssumeRoleWithWebIdentity <token>``).

Two gaps in moto's IAM emulation are closed here so the shipped policy is tested as AWS would
evaluate it: CloudWatch Logs requests are checked against the log-group / log-stream ARN
AWS documents for each action (moto checks them against ``*``), and sessions expire.
moto does not evaluate ``Condition`` blocks; the tests do not rely on them.
"""

from __future__ import annotations

import datetime
import os
import sys
import threading
import time
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.utils import utcnow
from moto.iam import access_control
from moto.logs.responses import LogsResponse
from moto.s3.exceptions import S3ClientError
from moto.server import ThreadedMotoServer
from moto.sts.models import STSBackend
from moto.sts.responses import TokenResponse

ADVISORY_WINDOW = 900  # botocore refreshes temporary credentials 15 minutes before expiry
GRACE = 2.0
_STREAM_ACTIONS = {"PutLogEvents", "GetLogEvents"}
_GROUP_ACTIONS = {
    "CreateLogGroup",
    "CreateLogStream",
    "DescribeLogStreams",
    "PutRetentionPolicy",
    "DeleteLogGroup",
}
_session_ends: dict[str, float] = {}
_log_lock = threading.Lock()


def _sts_log(line: str) -> None:
    path = os.environ.get("STS_LOG")
    if path:
        with _log_lock, open(path, "a") as handle:
            handle.write(line + "\n")


def _logs_resource(self: LogsResponse) -> str:
    """The ARN AWS authorises a CloudWatch Logs action against (service authorization
    reference: log-group actions on the group, event actions on the stream)."""
    action = self._get_action()
    group = self._get_param("logGroupName")
    if not group or action not in _STREAM_ACTIONS | _GROUP_ACTIONS:
        return "*"
    arn = f"arn:aws:logs:{self.region}:{self.current_account}:log-group:{group}"
    if action in _STREAM_ACTIONS:
        return f"{arn}:log-stream:{self._get_param('logStreamName')}"
    return arn


def _patch_logs() -> None:
    LogsResponse._determine_resource = _logs_resource  # type: ignore[attr-defined]


def _patch_sessions(seconds: float) -> None:
    assume_role = STSBackend.assume_role

    def short_assume_role(self: STSBackend, **kwargs: Any) -> Any:
        role = assume_role(self, **kwargs)
        _session_ends[role.access_key_id] = time.time() + seconds + GRACE
        role.expiration = utcnow() + datetime.timedelta(seconds=seconds + ADVISORY_WINDOW)
        _sts_log(f"AssumeRole {role.access_key_id}")
        return role

    STSBackend.assume_role = short_assume_role  # type: ignore[method-assign]

    with_web_identity = TokenResponse.assume_role_with_web_identity

    def logged_web_identity(self: TokenResponse) -> Any:
        _sts_log(f"AssumeRoleWithWebIdentity {self._get_param('WebIdentityToken')}")
        return with_web_identity(self)

    TokenResponse.assume_role_with_web_identity = logged_web_identity  # type: ignore[method-assign]

    authorize = TokenResponse._authenticate_and_authorize_normal_action

    def unsigned_web_identity(self: TokenResponse, resource: str = "*") -> None:
        # AWS takes AssumeRoleWithWebIdentity unsigned: the token is the proof
        if self._get_action() != "AssumeRoleWithWebIdentity":
            authorize(self, resource)

    TokenResponse._authenticate_and_authorize_normal_action = unsigned_web_identity  # type: ignore[method-assign]

    key_init = access_control.AssumedRoleAccessKey.__init__

    def expiring_key(
        self: Any, account_id: str, partition: str, access_key_id: str, headers: Any
    ) -> None:
        key_init(self, account_id, partition, access_key_id, headers)
        if time.time() > _session_ends.get(access_key_id, float("inf")):
            raise access_control.CreateAccessKeyFailure(reason="ExpiredToken")

    access_control.AssumedRoleAccessKey.__init__ = expiring_key  # type: ignore[method-assign]

    for cls in (access_control.IAMRequest, access_control.S3IAMRequest):
        _raise_expired(cls)


def _raise_expired(cls: Any) -> None:
    invalid_key = cls._raise_invalid_access_key

    def raise_invalid_key(self: Any, reason: str) -> None:
        if reason != "ExpiredToken":
            invalid_key(self, reason)
        if isinstance(self, access_control.S3IAMRequest):
            raise S3ClientError("ExpiredToken", "The provided token has expired.")
        # CloudWatch Logs and Firehose speak JSON
        raise JsonRESTError(
            "ExpiredTokenException", "The security token included in the request is expired"
        )

    cls._raise_invalid_access_key = raise_invalid_key


def main() -> None:
    port = int(sys.argv[1])
    _patch_logs()
    if os.environ.get("SESSION_SECONDS"):
        _patch_sessions(float(os.environ["SESSION_SECONDS"]))
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
