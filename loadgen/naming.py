"""Stable, valid Knative Service names and placeholder endpoints for trace functions.

Every trace function gets its own Service, named `<proxy>-<id>` where `<id>` is the first
10 hex digits of SHA-256 over `HashOwner/HashApp/HashFunction`: the same function gets the
same name on every run and every machine (the old tools used random suffixes).  Names are
DNS-1035 labels (lower-case letters, digits and '-', starting with a letter) of at most 49
characters, so Knative's derived names (`<name>-00001-private`) stay within 63.
"""

import hashlib
import re

MAX_NAME = 49
ID_DIGITS = 10
DEFAULT_NAMESPACE = "default"
DEFAULT_DOMAIN = "127.0.0.1.sslip.io"

_INVALID = re.compile(r"[^a-z0-9-]+")
_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def function_id(owner: str, app: str, function: str) -> str:
    """Short stable id of a trace function (its key hashed)."""
    return hashlib.sha256(f"{owner}/{app}/{function}".encode()).hexdigest()[:ID_DIGITS]


def service_name(proxy: str, owner: str, app: str, function: str) -> str:
    """`<proxy>-<function id>`, the proxy part cleaned and shortened to keep a valid label."""
    prefix = _INVALID.sub("-", proxy.lower())
    prefix = re.sub(r"-{2,}", "-", prefix).lstrip("-0123456789")
    prefix = prefix[: MAX_NAME - ID_DIGITS - 1].rstrip("-") or "fn"
    return f"{prefix}-{function_id(owner, app, function)}"


def is_service_name(name: str) -> bool:
    """True for a DNS-1035 label of at most `MAX_NAME` characters."""
    return len(name) <= MAX_NAME and bool(_DNS_1035.match(name))


def placeholder_endpoint(service: str, namespace: str = DEFAULT_NAMESPACE, domain: str = DEFAULT_DOMAIN) -> str:
    """The host Knative would report for `service` (`status.url` without the scheme)."""
    return f"{service}.{namespace}.{domain}"
