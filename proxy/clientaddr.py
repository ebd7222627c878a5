"""Who the client is, when proxies stand in front of the gateway: trusted hops only.

By default no proxy is trusted: the client is the TCP peer and a client-sent
``X-Forwarded-For`` means nothing (it is not passed on either; the upstream gets the peer).
With ``PROXY_TRUSTED_PROXIES`` (addresses or CIDRs) a request whose peer is one of them is
attributed to the rightmost ``X-Forwarded-For`` entry that is not itself trusted — each trusted
hop appends the address it saw, so everything left of the first untrusted entry could have
been written by the client. An entry that is not an address ends the walk at the hop that
wrote it. The resolved address is what per-address caps, rollback evidence, idempotency
namespaces and the upstream's ``X-Forwarded-For`` use.
"""

from __future__ import annotations

import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str) -> tuple[Network, ...]:
    """``PROXY_TRUSTED_PROXIES`` as networks; ``ValueError`` naming a bad entry."""
    networks = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"invalid PROXY_TRUSTED_PROXIES entry {item!r}: expected an address or CIDR") from None
    return tuple(networks)


class TrustedProxies:
    """Resolves the client address of a request that came through trusted proxies."""

    __slots__ = ("_known", "networks")

    def __init__(self, networks: tuple[Network, ...]) -> None:
        self.networks = networks
        self._known: dict[str, bool] = {}

    def trusted(self, address: str) -> bool:
        """Whether ``address`` is one of the trusted proxies (cached; bounded)."""
        known = self._known.get(address)
        if known is None:
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                known = False
            else:
                known = any(ip in network for network in self.networks)
            if len(self._known) >= 4096:
                self._known.clear()
            self._known[address] = known
        return known

    def client(self, peer: str, forwarded_for: str | None) -> str:
        """The client address of a request from ``peer`` carrying ``forwarded_for``."""
        if not forwarded_for or not self.trusted(peer):
            return peer
        hop = peer
        for entry in reversed(forwarded_for.split(",")):
            entry = entry.strip()
            try:
                ipaddress.ip_address(entry)
            except ValueError:
                return hop  # garbage: the hop that wrote it is the last one we can vouch for
            if not self.trusted(entry):
                return entry
            hop = entry
        return hop
