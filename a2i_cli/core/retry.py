"""Riding through what is transient on object storage: throttling, 5xx answers, timeouts, resets.

    data = with_retries(lambda: fs_read(path), "read", "s3://bkt/in.csv")

Every call to an object store goes through `with_retries`: an error that a retry can cure
(throttled, a server error, the network) is retried with exponential backoff and full jitter
until the operation has taken A2I_STORAGE_RETRY_S seconds (default 120, so a store that is
down for a minute is ridden through); what is not transient (permission, a missing bucket,
a full disk) fails at once. pyarrow's own S3 retry strategy (the AWS SDK's standard one,
3 attempts) runs inside each try.

A failure that outlasts the budget, or is a fault of the store rather than of the input,
raises StorageError: one line naming the path, what failed and that a rerun resumes, exit 3.
"""
from __future__ import annotations

import errno
import os
import random
import time
from typing import Callable, TypeVar

from .errors import UserError, short

T = TypeVar("T")
RETRY_ENV = "A2I_STORAGE_RETRY_S"
DEFAULT_RETRY_S = 120.0
FIRST_WAIT_S = 0.2
LONGEST_WAIT_S = 10.0

RESUME = "rerun the same command to resume"

# words in pyarrow / AWS SDK / GCS messages, by what they mean
_THROTTLED = ("SLOW_DOWN", "SlowDown", "THROTTL", "Throttl", "TooManyRequests", "REQUEST_LIMIT_EXCEEDED",
              "HTTP status 429", "HTTP status 503", "SERVICE_UNAVAILABLE", "ServiceUnavailable")
_NETWORK = ("NETWORK_CONNECTION", "curlCode", "Connection reset", "connection reset", "Connection refused",
            "timed out", "Timeout", "TIMEOUT", "Broken pipe", "REQUEST_TIMEOUT", "Couldn't connect",
            "Could not connect", "Failed to connect", "EOF occurred", "Empty reply", "Recv failure",
            "HTTP status -1", "Failed to flush response stream")
_SERVER = ("INTERNAL_FAILURE", "InternalError", "INTERNAL_ERROR", "HTTP status 500", "HTTP status 502",
           "HTTP status 504", "BAD_GATEWAY", "embedded in a 200 OK")
_PERMISSION = ("ACCESS_DENIED", "AccessDenied", "HTTP status 403", "INVALID_ACCESS_KEY_ID",
               "SIGNATURE_DOES_NOT_MATCH", "Forbidden")


class StorageError(UserError):
    """A fault of storage or the network (not of the input): exit 3, a rerun resumes."""

    def __init__(self, message: str, code: int = 3):
        super().__init__(message, code)

    def __reduce__(self):  # raised in a worker process, it reaches the driver as itself
        return type(self), (str(self), self.code)


def kind_of(e: BaseException) -> str | None:
    """What an error from a filesystem call means: throttled | network | server error | permission | full |
    None (anything else: a missing file, a bad name, ...)."""
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        return "full"
    if isinstance(e, (ConnectionError, TimeoutError)):
        return "network"
    if isinstance(e, PermissionError):
        return "permission"
    if isinstance(e, FileNotFoundError):
        return None
    text = str(e)
    for kind, words in (("throttled", _THROTTLED), ("server error", _SERVER), ("network", _NETWORK),
                        ("permission", _PERMISSION)):
        if any(w in text for w in words):
            return kind
    return None


TRANSIENT = ("throttled", "network", "server error")
_SAYS = {"throttled": "the store is throttling requests (503 SlowDown)", "network": "the network failed",
         "server error": "the store answered with a server error", "permission": "permission denied",
         "full": "no space left"}


def retry_budget() -> float:
    """Seconds one storage operation may keep retrying (A2I_STORAGE_RETRY_S; 0 disables retries)."""
    text = os.environ.get(RETRY_ENV, "")
    try:
        value = float(text) if text.strip() else DEFAULT_RETRY_S
    except ValueError:
        raise UserError(f"{RETRY_ENV}={text!r} is not a number of seconds (e.g. {RETRY_ENV}=300)")
    if not value >= 0:  # negative, or nan
        raise UserError(f"{RETRY_ENV}={text!r} must be a number of seconds, 0 or more (e.g. {RETRY_ENV}=300)")
    return value


def storage_error(verb: str, where: str, e: BaseException, kind: str | None, tries: int = 1,
                  seconds: float = 0.0) -> UserError:
    """The one line for an error of `verb` `where`: StorageError (exit 3) for faults of the store or the
    network, a plain UserError (exit 2) for anything else (a missing file is the user's to fix)."""
    first = short(e, 160)
    if kind is None:
        return UserError(f"cannot {verb} {where}: {first}")
    tried = f" after {tries} tries over {seconds:.0f} s" if tries > 1 else ""
    return StorageError(f"cannot {verb} {where}: {_SAYS[kind]}{tried} ({first}); {RESUME}")


def with_retries(fn: Callable[[], T], verb: str, where: str, budget: float | None = None,
                 retry_missing: bool = False, sleep=time.sleep) -> T:
    """fn(), retried on transient errors for up to `budget` seconds (default: retry_budget()).

    retry_missing: a "not found" is transient too (an object just listed, or one a HEAD answered wrongly
    under load); it is retried a few times only."""
    budget = retry_budget() if budget is None else budget
    start = time.monotonic()
    tries = 0
    while True:
        tries += 1
        try:
            return fn()
        except StorageError:
            raise
        except OSError as e:
            kind = kind_of(e)
            missing = kind is None and retry_missing and isinstance(e, FileNotFoundError) and tries < 4
            spent = time.monotonic() - start
            if not (kind in TRANSIENT or missing) or spent >= budget:
                raise storage_error(verb, where, e, kind, tries, spent) from None
            wait = random.uniform(FIRST_WAIT_S / 2, min(LONGEST_WAIT_S, FIRST_WAIT_S * 2 ** tries))
            sleep(max(0.0, min(wait, budget - spent)))
