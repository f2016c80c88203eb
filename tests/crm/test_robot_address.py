"""Where a department's robot may be posted to (SSRF; crm.accounts.robot_address): IPv6 forms that
carry an IPv4 address are judged by that address, and the sender connects only to an address it
checked — one lookup of the name, every answer judged, the post sent to one of them with the
name kept for the Host header and TLS — against real local HTTP(S) servers."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from crm.accounts.robot_address import (
    INTERNAL,
    NOT_A_URL,
    embedded_ipv4,
    robot_address_refusal,
)
from crm.config import get_settings
from crm.outbox.channels import DeliveryError, Webhook, post_robot
from tests.servers import RobotServer


@pytest.fixture
def allow(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Sets CRM_WEBHOOK_ALLOW_NETWORKS for the test ("" = public addresses only)."""

    def set_networks(networks: str) -> None:
        monkeypatch.setenv("CRM_WEBHOOK_ALLOW_NETWORKS", networks)
        get_settings.cache_clear()

    yield set_networks
    get_settings.cache_clear()


CARRYING_REFUSED_IPV4 = [
    "http://[::127.0.0.1]/",  # IPv4-compatible
    "http://[::7f00:1]:8080/",
    "http://[::a9fe:a9fe]/latest/meta-data/",  # 169.254.169.254
    "http://[::ffff:0:7f00:1]/",  # IPv4-translated (SIIT)
    "http://[::ffff:10.1.2.3]/",  # IPv4-mapped
    "http://[64:ff9b::7f00:1]/",  # NAT64, well-known prefix
    "http://[64:ff9b::192.168.1.1]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://[2002:a00:1::1]/",  # 6to4 of 10.0.0.1
    "http://[2002:c0a8:101:1::1]/",  # 6to4 of 192.168.1.1
    # Teredo: server 65.54.227.120, client 127.0.0.1 (stored XOR-ed as 80ff:fffe)
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
    # Teredo: server 127.0.0.1, client 8.8.8.8
    "http://[2001:0:7f00:1:0:0:f7f7:f7f7]/",
    # local-use NAT64 (RFC 8215): the site places the IPv4 address where it likes
    "http://[64:ff9b:1::808:808]/",
    "http://[64:ff9b:1:7f00:1::]/",
]

CARRYING_PUBLIC_IPV4 = [
    "http://[::8.8.8.8]/",
    "http://[64:ff9b::808:808]/",
    "http://[2002:808:808::1]/",
    "http://[2001:0:808:808:0:0:f7f7:f7f7]/",  # Teredo: server and client 8.8.8.8
    "http://[2606:4700:4700::1111]/",  # a plain public IPv6 address
]


def test_ipv6_addresses_are_judged_by_the_ipv4_address_they_carry(allow: Any) -> None:
    allow("")
    for url in CARRYING_REFUSED_IPV4:
        assert robot_address_refusal(url) == INTERNAL, url
    for url in CARRYING_PUBLIC_IPV4:
        assert robot_address_refusal(url) is None, url
    got = embedded_ipv4(ipaddress.IPv6Address("2001:0:4136:e378:8000:63bf:80ff:fffe"))
    assert [str(a) for a in got] == ["65.54.227.120", "127.0.0.1"]


def test_an_allowed_network_is_judged_through_the_ipv6_forms_too(allow: Any) -> None:
    """An office robot gateway allowed by its IPv4 network is reachable through NAT64 or 6to4
    forms of its address; the forms of any other internal address stay refused."""
    allow("10.0.0.0/8")
    assert robot_address_refusal("http://10.1.2.3/robot") is None
    assert robot_address_refusal("http://[64:ff9b::10.1.2.3]/robot") is None
    assert robot_address_refusal("http://[::ffff:10.1.2.3]/robot") is None
    assert robot_address_refusal("http://[2002:a01:203::1]/robot") is None
    assert robot_address_refusal("http://[64:ff9b::127.0.0.1]/robot") == INTERNAL
    assert robot_address_refusal("http://[2002:c0a8:101::1]/robot") == INTERNAL
    allow("64:ff9b:1::/48")  # a site's own NAT64 prefix, allowed by its administrator
    assert robot_address_refusal("http://[64:ff9b:1::a01:203]/") is None


class Resolver:
    """DNS for names under .example, answered by the test: each lookup of a name takes the
    next answer of its list (the last one repeats) — how a rebinding DNS server behaves. The
    machine's resolver cannot be told to do this, so ``socket.getaddrinfo`` is replaced; every
    other name (and every address) goes to the real one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []
        real = socket.getaddrinfo

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else host
            if name not in self.answers:
                return real(host, port, *args, **kwargs)
            self.lookups.append(name)
            queue = self.answers[name]
            answer = queue.pop(0) if len(queue) > 1 else queue[0]
            return [
                (
                    socket.AF_INET6 if ":" in a else socket.AF_INET,
                    socket.SOCK_STREAM,
                    socket.IPPROTO_TCP,
                    "",
                    (a, int(port or 0)),
                )
                for a in answer
            ]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> Resolver:
    return Resolver(monkeypatch)


@pytest.fixture
def two_robots() -> Iterator[tuple[RobotServer, RobotServer]]:
    """The robot (127.0.0.1) and an internal service on the same port of 127.0.0.2."""
    good = RobotServer()
    inside = RobotServer(bind="127.0.0.2", port=good.port)
    yield good, inside
    good.close()
    inside.close()


def test_a_name_rebinding_after_the_check_still_reaches_only_the_checked_address(
    allow: Any, dns: Resolver, two_robots: tuple[RobotServer, RobotServer]
) -> None:
    """DNS rebinding: the name answers an allowed address to the check and an internal one to
    any later lookup. The sender looks it up once and posts to the address it checked, with the
    URL's name in the Host header: the internal service hears nothing."""
    good, inside = two_robots
    allow("127.0.0.1/32")
    dns.answers["robot.example"] = [["127.0.0.1"], ["127.0.0.2"]]
    post_robot(Webhook("wecom", f"http://robot.example:{good.port}/wecom"), "标题", "正文")
    assert dns.lookups == ["robot.example"]
    assert [(r["path"], r["host"]) for r in good.requests] == [
        ("/wecom", f"robot.example:{good.port}")
    ]
    assert inside.requests == []
    # the same name now answers the internal address: refused, as final, nothing sent
    with pytest.raises(DeliveryError) as caught:
        post_robot(Webhook("wecom", f"http://robot.example:{good.port}/wecom"), "标题", "正文")
    assert caught.value.permanent
    assert len(good.requests) == 1 and inside.requests == []


def test_every_address_of_the_name_is_checked_and_a_dead_one_skipped(
    allow: Any, dns: Resolver, two_robots: tuple[RobotServer, RobotServer]
) -> None:
    good, inside = two_robots
    allow("127.0.0.1/32,127.0.0.3/32")
    # one of its answers is internal: refused as a whole, nothing sent anywhere
    dns.answers["mixed.example"] = [["127.0.0.1", "127.0.0.2"]]
    with pytest.raises(DeliveryError) as caught:
        post_robot(Webhook("wecom", f"http://mixed.example:{good.port}/w"), "标题", "正文")
    assert caught.value.permanent
    assert good.requests == [] and inside.requests == []
    # 127.0.0.3 has nothing listening: the next checked address takes the message
    dns.answers["two.example"] = [["127.0.0.3", "127.0.0.1"]]
    post_robot(Webhook("dingtalk", f"http://two.example:{good.port}/d", "S"), "标题", "正文")
    assert [r["host"] for r in good.requests] == [f"two.example:{good.port}"]
    assert good.requests[0]["path"].startswith("/d?timestamp=")  # signed, as before
    assert dns.lookups == ["mixed.example", "two.example"]
    # a name that does not resolve at send time: the channel is unreachable, not the message
    dns.answers["gone.example"] = [[]]
    with pytest.raises(DeliveryError) as caught:
        post_robot(Webhook("wecom", "http://gone.example/w"), "标题", "正文")
    assert caught.value.unreachable and not caught.value.permanent


def _certificate(tmp: Path, name: str) -> tuple[Path, Path]:
    key, cert = tmp / f"{name}.key", tmp / f"{name}.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}"),
            *("-addext", f"subjectAltName=DNS:{name}"),
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


def test_over_https_the_name_is_the_server_name_and_what_the_certificate_is_checked_against(
    allow: Any, dns: Resolver, tmp_path: Path
) -> None:
    """Posting to the checked address keeps TLS about the name: the server is asked for the
    name (SNI), and its certificate — for the name, with no address in it — is verified
    against the name. A certificate for another name fails, and nothing is posted."""
    allow("127.0.0.1/32")
    key, cert = _certificate(tmp_path, "robot.example")
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    robot = RobotServer(tls=server_tls)
    try:
        dns.answers["robot.example"] = [["127.0.0.1"], ["127.0.0.2"]]
        trust = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(verify=trust, timeout=10) as client:
            post_robot(
                Webhook("wecom", f"https://robot.example:{robot.port}/wecom"),
                "标题",
                "正文",
                client=client,
            )
            assert robot.server_names == ["robot.example"]
            assert [r["host"] for r in robot.requests] == [f"robot.example:{robot.port}"]
            # the same server reached under a name its certificate is not for
            dns.answers["other.example"] = [["127.0.0.1"]]
            with pytest.raises(DeliveryError) as caught:
                post_robot(
                    Webhook("wecom", f"https://other.example:{robot.port}/wecom"),
                    "标题",
                    "正文",
                    client=client,
                )
            assert caught.value.unreachable
            assert len(robot.requests) == 1
    finally:
        robot.close()


@pytest.mark.parametrize(
    "url",
    ["http://1.1.1.1 /", "http://%31%32%37.0.0.1/", "http://[::1]\\@example.com/", "http://a..b/"],
)
def test_a_host_no_resolver_takes_is_not_a_url(url: str) -> None:
    """ATTACK12 F6: saved, these were retried every hour for ever."""
    assert robot_address_refusal(url, resolve=False) == NOT_A_URL


@pytest.mark.parametrize(
    "url",
    [
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc",
        "http://例子.中国/hook",
        "https://my_gateway.example.com/x",
        "http://8.8.8.8/x",
    ],
)
def test_names_and_addresses_a_resolver_takes_pass_the_host_check(url: str) -> None:
    assert robot_address_refusal(url, resolve=False) is None
