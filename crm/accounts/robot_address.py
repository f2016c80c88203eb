"""Where a department's group robot may post (SSRF): an http(s) URL whose host is a public
address — never this host (loopback), the cloud metadata address and other link-local ones
(169.254.0.0/16, fe80::/10), a private range (10/8, 172.16/12, 192.168/16, fc00::/7,
100.64/10), or any other address that is not global — unless an administrator allowed that
network for an on-premise robot gateway (``CRM_WEBHOOK_ALLOW_NETWORKS``). Checked when an
admin saves the URL (``crm.accounts.webhooks``) and again before every message is sent
(``crm.outbox.channels.post_robot``), because a name may resolve elsewhere by then."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from crm.config import get_settings
from crm.i18n import Message, _l

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

NOT_A_URL = _l("机器人地址应为 http(s) 网址，最多500字符")
INTERNAL = _l("机器人地址不能指向本机、内网或链路本地地址（内网网关须在配置中允许）")


def _allowed(ip: Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if any(ip in net for net in get_settings().allowed_robot_networks):
        return True
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
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return NOT_A_URL
    host = parts.hostname
    if len(url) > 500 or parts.scheme not in ("http", "https") or not host:
        return NOT_A_URL
    if any(not _allowed(ip) for ip in _addresses(host, port, resolve)):
        return INTERNAL
    return None
