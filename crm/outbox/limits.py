"""What each channel accepts, as data: the largest message, the pace, the refusals that are final.

- WeCom group robot: markdown ``content`` at most 4,096 bytes (UTF-8); 20 messages a minute per
  robot. Final refusals: 93000 (invalid webhook URL), 93004 (robot disabled), 40058 (a parameter
  out of range — the content too long), 40008 (invalid message type).
- DingTalk custom robot: 20 messages a minute per robot (over it, DingTalk blocks the robot for
  10 minutes); the markdown text kept under 20,000 bytes. Final refusals: 300001 (no such token),
  300005 (token removed), 310000 (signature, keyword or IP address refused — an admin must change
  the robot's settings), 400101/400102 (robot disabled or removed).
- Email: a body up to 1,000,000 bytes (well under common SMTP servers' 10 MB); no pace.

A message over its channel's size is split into numbered parts when it is written
(``split_message``), each part a row of its own with its own dedup key; a row that is still too
big when sent (written before these limits) is shortened with a link to the app (``shorten``).
Rate-limit and busy answers (WeCom 45009, DingTalk 130101, HTTP 429 / 5xx) are temporary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any


@dataclass(frozen=True)
class ChannelLimit:
    max_bytes: int  # the body's UTF-8 size the channel accepts
    per_window: int | None = None  # messages to one robot per ``window``
    window: timedelta = timedelta(minutes=1)
    permanent_codes: frozenset[str] = field(default_factory=frozenset)


LIMITS: dict[str, ChannelLimit] = {
    "wecom": ChannelLimit(
        max_bytes=4096,
        per_window=20,
        permanent_codes=frozenset({"93000", "93004", "40058", "40008"}),
    ),
    "dingtalk": ChannelLimit(
        max_bytes=20000,
        per_window=20,
        permanent_codes=frozenset({"300001", "300005", "310000", "400101", "400102"}),
    ),
    "email": ChannelLimit(max_bytes=1_000_000),
}

PART_HEADER_BYTES = 40  # room kept in each part for its "(2/3)" line


def limit_of(channel: str) -> ChannelLimit:
    return LIMITS.get(channel, LIMITS["email"])


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def _cut(text: str, max_bytes: int) -> str:
    """The longest prefix of ``text`` within ``max_bytes`` UTF-8 bytes (whole characters)."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")


def split_text(text: str, max_bytes: int) -> list[str]:
    """``text`` in pieces of at most ``max_bytes`` bytes, cut between lines where possible."""
    if size(text) <= max_bytes:
        return [text]
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while size(line) > max_bytes:  # a single line longer than a part: cut it
            if current:
                pieces.append(current)
                current = ""
            head = _cut(line, max_bytes)
            pieces.append(head)
            line = line[len(head) :]
        if size(current) + size(line) > max_bytes:
            pieces.append(current)
            current = ""
        current += line
    if current.strip():
        pieces.append(current)
    return [p for p in pieces if p.strip()]


def split_message(message: dict[str, Any]) -> list[dict[str, Any]]:
    """One message for the outbox, or its numbered parts when it is over its channel's size.

    Part 1 keeps the message's dedup key (so a composer that checks the key finds it); part k
    gets ``key#k``. Each part's text starts with "(k/n)" and its subject ends with it.
    """
    lim = limit_of(message["channel"])
    text = message["body_text"]
    if size(text) <= lim.max_bytes:
        return [message]
    pieces = split_text(text, lim.max_bytes - PART_HEADER_BYTES)
    n = len(pieces)
    robot = message["channel"] != "email"
    parts = []
    for k, piece in enumerate(pieces, 1):
        label = f"({k}/{n})"
        parts.append(
            {
                **message,
                "dedup_key": message["dedup_key"] if k == 1 else f"{message['dedup_key']}#{k}",
                "subject": f"{message['subject'][:290]} {label}",
                "body_text": (f"**{label}**\n\n" if robot else f"{label}\n\n") + piece,
                # an HTML alternative would repeat the whole message in every part
                "body_html": None if not robot else message.get("body_html"),
            }
        )
    return parts


def shorten(channel: str, text: str, link: str) -> str:
    """``text`` cut to fit ``channel``, ending with a link to the full list in the app."""
    lim = limit_of(channel)
    if size(text) <= lim.max_bytes:
        return text
    tail = f"\n\n…… {link}\n"
    return _cut(text, lim.max_bytes - size(tail)).rsplit("\n", 1)[0] + tail
