"""Where messages go: SMTP email (stdlib smtplib) and department group robots (WeCom, DingTalk).

Every failure surfaces as ``DeliveryError`` (``permanent`` when retrying cannot help), so the
drainer treats a refused SMTP connection and a WeCom timeout alike.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import smtplib
import ssl
import time
import urllib.parse
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from crm.accounts.robot_address import Address, checked_robot_addresses
from crm.config import Settings, get_settings
from crm.outbox.limits import limit_of, shorten


class DeliveryError(Exception):
    """A message not delivered. ``permanent``: this message will be refused again (a bad
    address, a robot's final error code): it fails at once. ``unreachable``: the channel itself
    could not be reached or used (the server is down or does not answer, SMTP is not configured
    or refuses the login, a robot answers 5xx or 429): not the message's fault, so it waits with
    back-off for as long as the outage lasts and is never failed for it (SPEC §6: retried when
    the server is down, never lost). Anything else is a try that counts toward the limit."""

    def __init__(self, message: str, permanent: bool = False, unreachable: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.unreachable = unreachable and not permanent


def build_email(
    settings: Settings, *, to: str, subject: str, text: str, html: str | None, message_id: str
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(ZoneInfo(settings.timezone)))
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


class Mailer:
    """One SMTP connection, opened on first use and reused for a batch; closed on exit."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if not s.smtp_host:
            raise DeliveryError("SMTP is not configured (CRM_SMTP_HOST)", unreachable=True)
        try:
            if s.smtp_security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.smtp_host,
                    s.smtp_port,
                    timeout=s.smtp_timeout,
                    context=ssl.create_default_context(),
                )
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
                if s.smtp_security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP login refused: {exc.smtp_code}", unreachable=True) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(
                f"SMTP connection to {s.smtp_host}:{s.smtp_port} failed: {exc}", unreachable=True
            ) from exc
        return smtp

    def send(self, *, to: str, subject: str, text: str, html: str | None, message_id: str) -> None:
        if not to or "@" not in to:
            raise DeliveryError(f"no valid address: {to!r}", permanent=True)
        msg = build_email(
            self.settings, to=to, subject=subject, text=text, html=html, message_id=message_id
        )
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"recipient refused: {exc.recipients}", permanent=True) from exc
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
            # 5xx: the server will refuse this message again (too big, sender not allowed)
            raise DeliveryError(
                f"SMTP refused the message: {exc.smtp_code} {exc.smtp_error!r}",
                permanent=500 <= exc.smtp_code < 600,
                unreachable=exc.smtp_code == 421,  # "service not available, closing"
            ) from exc
        except (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError) as exc:
            self.close()  # the server went away or stopped answering mid-send
            raise DeliveryError(f"SMTP send failed: {exc}", unreachable=True) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise DeliveryError(f"SMTP send failed: {exc}") from exc

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._smtp.quit()
            self._smtp = None


@dataclass
class Webhook:
    kind: str  # wecom | dingtalk
    url: str
    secret: str | None = None


def dingtalk_signed_url(url: str, secret: str, timestamp_ms: int | None = None) -> str:
    """DingTalk "加签": HMAC-SHA256 of "timestamp\\nsecret" keyed by the secret, base64, quoted."""
    ts = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}timestamp={ts}&sign={sign}"


def robot_payload(kind: str, title: str, text: str) -> dict[str, Any]:
    if kind == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
    return {"msgtype": "markdown", "markdown": {"content": text}}


def _pinned(url: str, ip: Address) -> tuple[str, dict[str, str], dict[str, Any]]:
    """``url`` sent to the address ``ip``: the URL's host replaced by it, with the Host header
    and (https) the TLS server name — SNI and the certificate's check — still the URL's name."""
    u = httpx.URL(url)
    name = u.raw_host.decode("ascii")  # IDNA-encoded, as it goes on the wire
    if name.strip("[]") == str(ip):  # the URL names the address itself
        return url, {}, {}
    extensions: dict[str, Any] = {"sni_hostname": name} if u.scheme == "https" else {}
    return str(u.copy_with(host=str(ip))), {"Host": u.netloc.decode("ascii")}, extensions


def _checked(hook: Webhook) -> list[Address]:
    """The addresses the robot's name stands for now, every one of them checked."""
    addresses, refusal = checked_robot_addresses(hook.url)
    if refusal is not None:
        raise DeliveryError(
            f"{hook.kind} webhook refused: its address is not a public one", permanent=True
        )
    if not addresses:  # the name does not resolve (now): DNS down, or the name gone
        host = urllib.parse.urlsplit(hook.url).hostname
        raise DeliveryError(
            f"{hook.kind} webhook failed: {host} does not resolve", unreachable=True
        )
    return addresses


def _post_to_one_of(
    http: httpx.Client, addresses: list[Address], url: str, payload: dict[str, Any]
) -> httpx.Response:
    """POST to the first of ``addresses`` that takes the connection (they are all checked)."""
    candidates = list(dict.fromkeys(addresses))
    for ip in candidates[:-1]:
        pinned, headers, extensions = _pinned(url, ip)
        try:
            return http.post(
                pinned, json=payload, headers=headers, extensions=extensions, follow_redirects=False
            )
        except (httpx.ConnectError, httpx.ConnectTimeout):
            continue  # nothing was sent: the next address of the name
    pinned, headers, extensions = _pinned(url, candidates[-1])
    return http.post(
        pinned, json=payload, headers=headers, extensions=extensions, follow_redirects=False
    )


def post_robot(
    hook: Webhook,
    title: str,
    text: str,
    *,
    client: httpx.Client | None = None,
    timeout: float | None = None,
) -> None:
    """Post a markdown message to a group robot; any failure raises DeliveryError.

    The robot's name is resolved once, here: every address it gave is checked (it may resolve
    elsewhere than when the URL was saved) and the message goes to one of those addresses —
    the URL's name kept in the Host header and, over https, in the TLS server name and the
    certificate's check — so no second lookup can point the post at an address never checked
    (DNS rebinding). Proxies from the environment are not used: one would look the name up
    again itself."""
    if hook.kind not in ("wecom", "dingtalk") or not hook.url:
        raise DeliveryError(f"no usable webhook ({hook.kind})", permanent=True)
    addresses = _checked(hook)
    # a message written before the channel limits (or grown since) is cut, with a link
    text = shorten(hook.kind, text, get_settings().base_url.rstrip("/") + "/")
    url = hook.url
    if hook.kind == "dingtalk" and hook.secret:
        url = dingtalk_signed_url(url, hook.secret)
    own = client is None
    http = client or httpx.Client(
        timeout=timeout or get_settings().webhook_timeout, trust_env=False
    )
    try:
        r = _post_to_one_of(http, addresses, url, robot_payload(hook.kind, title, text))
    except httpx.HTTPError as exc:
        raise DeliveryError(
            f"{hook.kind} webhook failed: {type(exc).__name__}: {exc}", unreachable=True
        ) from exc
    finally:
        if own:
            http.close()
    if r.status_code >= 400:
        raise DeliveryError(
            f"{hook.kind} webhook answered HTTP {r.status_code}",
            permanent=400 <= r.status_code < 500 and r.status_code != 429,
            unreachable=r.status_code >= 500 or r.status_code == 429,
        )
    try:
        body = r.json()
    except ValueError:
        body = {}
    # both robots answer 200 with {"errcode": 0, "errmsg": "ok"}; anything else is a refusal,
    # final when its code is one that will not change on another try (limits.LIMITS)
    if isinstance(body, dict) and body.get("errcode", 0) not in (0, "0"):
        code = str(body.get("errcode"))
        raise DeliveryError(
            f"{hook.kind} webhook refused: {code} {str(body.get('errmsg', ''))[:200]}",
            permanent=code in limit_of(hook.kind).permanent_codes,
        )
