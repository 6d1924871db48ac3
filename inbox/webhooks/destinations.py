"""The SSRF guard: a webhook goes only to a public address unless the site allows a network.

The host is resolved once per attempt, every address it resolves to is checked, and the request
is then sent to the checked address (with the host name in ``Host`` and as the TLS server name),
so a DNS answer that changes between the check and the connect cannot point it elsewhere.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from inbox.conf import inbox_settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Cloud metadata services that are not link-local (AWS's IPv6 one, Alibaba's).
METADATA_ADDRESSES = {
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("100.100.100.200"),
}


class DestinationRefused(ValueError):
    """The URL may not receive webhooks (its scheme, or where its host resolves)."""


@dataclass(frozen=True)
class Destination:
    url: str
    host: str
    address: IPAddress


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(n) for n in inbox_settings.WEBHOOK_ALLOWED_NETWORKS]


def refusal(address: IPAddress) -> str | None:
    """Why ``address`` may not receive webhooks, or None."""
    if any(address in network for network in _allowed_networks()):
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return refusal(address.ipv4_mapped)
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for kind, flag in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("private", address.is_private),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
    ):
        if flag:
            return f"an {kind} address" if kind == "unspecified" else f"a {kind} address"
    return None


def resolve(url: str) -> Destination:
    """The checked address to send ``url``'s webhooks to; ``DestinationRefused`` says why not."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise DestinationRefused("must be an http or https URL with a host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as error:
        raise DestinationRefused(f"{parts.hostname} does not resolve ({error})") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        reason = refusal(address)
        if reason:
            raise DestinationRefused(
                f"{parts.hostname} resolves to {address}, {reason} (INBOX['WEBHOOK_ALLOWED_NETWORKS'])"
            )
    return Destination(url=url, host=parts.hostname, address=addresses[0])
