"""Network checks shared by everything that calls out to an address a user gave us."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


def resolves_to_private(host: str) -> bool:
    """True when any address of `host` is private, loopback, link-local or reserved (SSRF)."""
    try:
        infos = socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError):
        return False
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if (
            address.is_private
            or address.is_loopback
            or address.is_link_local
            or address.is_reserved
            or address.is_multicast
            or address.is_unspecified
        ):
            return True
    return False


def url_host(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return parts.hostname
