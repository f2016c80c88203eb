"""Where a department's group robot may post (SSRF): an http(s) URL whose host is a public
address — never this host (loopback), the cloud metadata address and other link-local ones
(169.254.0.0/16, fe80::/10), a private range (10/8, 172.16/12, 192.168/16, fc00::/7,
100.64/10), or any other address that is not global — unless an administrator allowed that
network for an on-premise robot gateway (``CRM_WEBHOOK_ALLOW_NETWORKS``). Checked when an
admin saves the URL (``crm.accounts.webhooks``) and again before every message is sent
(``crm.outbox.channels.post_robot``), because a name may resolve elsewhere by then: the sender
resolves the name once (``checked_robot_addresses``), judges every address it got and connects
to one of those — never to what a second lookup (DNS rebinding) might answer.

An IPv6 address that carries an IPv4 one is judged by the IPv4 address it reaches: IPv4-mapped
(::ffff:0:0/96), IPv4-translated (::ffff:0:0:0/96), IPv4-compatible (::/96), NAT64
(64:ff9b::/96), 6to4 (2002::/16, the router's address) and Teredo (2001::/32, its server and
its client — the one stored XOR-ed). The local-use NAT64 prefix (64:ff9b:1::/48) places the
IPv4 address wherever the site chose, so it is never a public address."""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from crm.config import get_settings
from crm.i18n import Message, _l

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

NOT_A_URL = _l("机器人地址应为 http(s) 网址，最多500字符")
# a host name as DNS writes it (after IDNA for a Chinese name): labels of letters, digits, "-"
# and "_", dot-separated — not a space, "%" or a backslash, which no resolver takes and which
# left a saved address retried for ever (ATTACK12 F6)
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_NAME = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}\.?")
INTERNAL = _l("机器人地址不能指向本机、内网或链路本地地址（内网网关须在配置中允许）")


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# not global whatever Python's table says (3.11 calls them global): local-use NAT64 (RFC 8215)
# and the 2024 documentation prefix (RFC 9637)
_NEVER_PUBLIC = (ipaddress.IPv6Network("64:ff9b:1::/48"), ipaddress.IPv6Network("3fff::/20"))


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses a packet to ``ip`` ends up at, when ``ip`` carries one."""
    n = int(ip)
    low = ipaddress.IPv4Address(n & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d
        return [ip.ipv4_mapped]
    if n >> 32 == 0 or n >> 32 == 0xFFFF0000 or ip in _NAT64:  # ::a.b.c.d, ::ffff:0:a.b.c.d
        return [low]
    if ip.sixtofour is not None:  # 2002:aabb:ccdd::/48
        return [ip.sixtofour]
    if ip.teredo is not None:  # 2001:0:server:flags:port:~client
        return list(ip.teredo)
    return []


def _allowed(ip: Address) -> bool:
    if any(ip in net for net in get_settings().allowed_robot_networks):
        return True  # an administrator's own choice, even of a prefix that carries IPv4
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in net for net in _NEVER_PUBLIC):
            return False
        if inner := embedded_ipv4(ip):
            return all(_allowed(v4) for v4 in inner)  # ::127.0.0.1 is 127.0.0.1
    return ip.is_global and not ip.is_multicast


def _addresses(host: str, port: int, resolve: bool) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    if not resolve:
        return []
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []  # nothing to judge: a name that does not resolve reaches nothing either
    out: list[Address] = []
    for *_, sockaddr in infos:
        try:
            out.append(ipaddress.ip_address(str(sockaddr[0]).split("%")[0]))
        except ValueError:
            continue
    return out


def robot_address_refusal(url: str, *, resolve: bool = True) -> Message | None:
    """Why ``url`` may not be a robot's address, or None. The host is read as an address, or
    resolved (``resolve``) and every address it resolves to judged: "localhost", a name
    pointing at 127.0.0.1 and "2130706433" are all this host."""
    return checked_robot_addresses(url, resolve=resolve)[1]


def checked_robot_addresses(
    url: str, *, resolve: bool = True
) -> tuple[list[Address], Message | None]:
    """The addresses ``url``'s host stands for — itself when it is one, else what one lookup
    of the name answered (none when it does not resolve) — and why the URL is refused, or None
    when every one of them may be posted to. The sender connects only to these."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return [], NOT_A_URL
    host = parts.hostname
    if len(url) > 500 or parts.scheme not in ("http", "https") or not host:
        return [], NOT_A_URL
    if any(c.isspace() or c == "\\" or ord(c) < 32 for c in url) or not _host_ok(host):
        return [], NOT_A_URL
    addresses = _addresses(host, port, resolve)
    if any(not _allowed(ip) for ip in addresses):
        return addresses, INTERNAL
    return addresses, None


def _host_ok(host: str) -> bool:
    """Whether ``host`` (``urlsplit``'s, lower case, brackets off) is an IP address or a name a
    resolver would take."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        name = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return len(name) <= 253 and _NAME.fullmatch(name) is not None
