"""The session cookie's signer keeps the cookies it verified (``server.middleware.KeptSigner``):
a kept cookie is answered as the signer answers it — a forged or altered one is refused, and
a kept one still expires by its signed time."""

from __future__ import annotations

import pytest
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

from server.middleware import KeptSigner


class _Clock(TimestampSigner):
    now = 1_700_000_000

    def get_timestamp(self) -> int:
        return self.now


def test_a_kept_cookie_is_refused_once_too_old_and_an_altered_one_always() -> None:
    signer = _Clock("secret-key")
    kept = KeptSigner(signer)
    cookie = kept.sign(b"e30=")
    assert kept.unsign(cookie, max_age=60) == b"e30="
    assert cookie in kept.kept
    assert kept.unsign(cookie, max_age=60) == b"e30="  # from the kept answer
    _Clock.now += 61
    with pytest.raises(SignatureExpired):
        kept.unsign(cookie, max_age=60)
    assert kept.unsign(cookie) == b"e30="  # no age limit
    _Clock.now -= 120
    with pytest.raises(SignatureExpired):  # signed in the future
        kept.unsign(cookie, max_age=60)
    forged = cookie[:-2] + (b"AA" if not cookie.endswith(b"AA") else b"BB")
    for _ in range(2):
        with pytest.raises(BadSignature):
            kept.unsign(forged, max_age=60)
    assert forged not in kept.kept
    other = KeptSigner(_Clock("another-key"))
    with pytest.raises(BadSignature):
        other.unsign(cookie, max_age=60)
