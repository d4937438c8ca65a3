"""Stable, valid Knative Service names and placeholder endpoints for trace functions.

Every trace function gets its own Service, named `<proxy>-<id>` where `<id>` is the first
10 hex digits of SHA-256 over `HashOwner/HashApp/HashFunction`: the same function gets the
same name on every run and every machine (the old tools used random suffixes).  Names are
DNS-1035 labels of at most `loadcore.names.MAX_SERVICE_NAME` characters.
"""

import hashlib
import re

from loadcore.names import MAX_SERVICE_NAME

ID_DIGITS = 10
DEFAULT_NAMESPACE = "default"
DEFAULT_DOMAIN = "127.0.0.1.sslip.io"

_INVALID = re.compile(r"[^a-z0-9-]+")


def function_id(owner: str, app: str, function: str) -> str:
    """Short stable id of a trace function (its key hashed)."""
    return hashlib.sha256(f"{owner}/{app}/{function}".encode()).hexdigest()[:ID_DIGITS]


def service_name(proxy: str, owner: str, app: str, function: str) -> str:
    """`<proxy>-<function id>`, the proxy part cleaned and shortened to keep a valid label."""
    prefix = _INVALID.sub("-", proxy.lower())
    prefix = re.sub(r"-{2,}", "-", prefix).lstrip("-0123456789")
    prefix = prefix[: MAX_SERVICE_NAME - ID_DIGITS - 1].rstrip("-") or "fn"
    return f"{prefix}-{function_id(owner, app, function)}"


def placeholder_endpoint(service: str, namespace: str = DEFAULT_NAMESPACE, domain: str = DEFAULT_DOMAIN) -> str:
    """The host Knative would report for `service` (`status.url` without the scheme)."""
    return f"{service}.{namespace}.{domain}"
