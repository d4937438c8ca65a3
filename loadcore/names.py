"""The one check of Kubernetes object names, shared by the mapping reader and the deploy code.

Knative Service names are DNS-1035 labels: lower-case letters, digits and '-', starting with a
letter and ending with a letter or digit. loadgen keeps its Service names to
`MAX_SERVICE_NAME` characters so that Knative's derived names (`<name>-00001-private`) stay
within the 63 characters of a label.
"""

import re

MAX_LABEL = 63
MAX_SERVICE_NAME = 49

_DNS_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")


def is_dns_label(name: str, max_length: int = MAX_LABEL) -> bool:
    """True for a DNS-1035 label of at most `max_length` characters."""
    return len(name) <= max_length and _DNS_1035.fullmatch(name) is not None


def is_service_name(name: str) -> bool:
    """True for a name loadgen may give a Knative Service."""
    return is_dns_label(name, MAX_SERVICE_NAME)
