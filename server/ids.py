"""``{name:id}`` in a route's path: the one reading of a record id in a path, for every page and
API route (``crm.schemas.parse_id``). A segment that is not an id as ``str(n)`` writes one — a
sign, a blank, a leading zero, a fraction, "0", past ``MAX_ID`` — matches no route, so it is
answered as an id that does not exist: a 404 page, or the API's 404 ``not_found``. Registered on
import; ``web`` and ``api`` import it before any of their routes is declared."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

from crm.schemas import ID_PATTERN


class IdConvertor(Convertor[int]):
    regex = ID_PATTERN

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", IdConvertor())
