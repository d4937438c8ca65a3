"""The one check of names: Kubernetes object names, host names and `HOST:PORT` addresses.

Knative Service names are DNS-1035 labels: lower-case letters, digits and '-', starting with a
letter and ending with a letter or digit. loadgen keeps its Service names to
`MAX_SERVICE_NAME` characters so that Knative's derived names (`<name>-00001-private`) stay
within the 63 characters of a label.

Host names (load.json endpoints, `--domain`, the host of `--ingress`) are RFC 1123 names:
dot-separated labels of 1 to 63 ASCII letters, digits and '-' (not at either end), at most
253 characters; an IPv4 address is one of them, an IPv6 address is written in brackets. No
scheme, path, space, quote or control character, so a name can only ever be printed,
routed and stored as itself.
"""

import ipaddress
import re

MAX_LABEL = 63
MAX_SERVICE_NAME = 49

_DNS_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS_1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def is_dns_label(name: str, max_length: int = MAX_LABEL) -> bool:
    """True for a DNS-1035 label of at most `max_length` characters."""
    return len(name) <= max_length and _DNS_1035.fullmatch(name) is not None


def is_namespace(name: str) -> bool:
    """True for a Kubernetes namespace name (an RFC 1123 label: it may start with a digit)."""
    return len(name) <= MAX_LABEL and _DNS_1123.fullmatch(name) is not None


def is_service_name(name: str) -> bool:
    """True for a name loadgen may give a Knative Service."""
    return is_dns_label(name, MAX_SERVICE_NAME)


MAX_HOST_NAME = 253
_HOST_LABEL = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?")
_PORT = re.compile(r"[0-9]{1,5}")


def is_host_name(text: str) -> bool:
    """True for an RFC 1123 host name (an IPv4 address included) or a bracketed IPv6 address."""
    if not isinstance(text, str) or not text or len(text) > MAX_HOST_NAME:
        return False
    if text.startswith("[") and text.endswith("]"):
        try:
            return isinstance(ipaddress.ip_address(text[1:-1]), ipaddress.IPv6Address)
        except ValueError:
            return False
    return all(_HOST_LABEL.fullmatch(label) for label in text.split("."))


def is_port(text: str) -> bool:
    """True for a TCP port number 1-65535 written in decimal digits."""
    return _PORT.fullmatch(text) is not None and 1 <= int(text) <= 65535


def split_address(text: str) -> tuple[str, int] | None:
    """(host, port) of `HOST:PORT`, or None unless HOST is a host name and PORT a port."""
    host, colon, port = text.rpartition(":")
    return (host, int(port)) if colon and is_host_name(host) and is_port(port) else None


def is_endpoint(text: str) -> bool:
    """True for a load.json endpoint: a host name, optionally with `:PORT`."""
    return is_host_name(text) or (isinstance(text, str) and split_address(text) is not None)
