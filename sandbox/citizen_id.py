"""Citizen ID numbers (GB 11643) that the public security sandbox assigns.

Region (6 digits) + birth date ``yyyyMMdd`` + a 3-digit sequence whose parity
follows the sex (odd male, even female, odd for unstated) + check digit.
"""

from datetime import date

from stdnum.cn import ric

from sandbox.errors import CitizenIdsExhaustedError

_LAST_SEQUENCE = 999


def citizen_id(region: str, born: date, sequence: int) -> str:
    """The 18-character ID for ``region``, ``born`` and ``sequence`` (1..999)."""
    if len(region) != 6 or not region.isdigit():
        raise ValueError("region must be six digits")
    if not 0 < sequence <= _LAST_SEQUENCE:
        raise ValueError("sequence must be 1..999")
    body = f"{region}{born:%Y%m%d}{sequence:03d}"
    # calc_check_digit expects the full number and ignores its last character.
    return body + ric.calc_check_digit(body + "0")


class CitizenIdRegistry:
    """Hands out citizen IDs, each sequence once per (region, birth date).

    Male and unstated share the odd numbers, female takes the even ones; at most
    500 odd and 499 even IDs exist per region and date, then
    :class:`CitizenIdsExhaustedError` is raised.
    """

    def __init__(self) -> None:
        self._last: dict[tuple[str, date, int], int] = {}

    def issue(self, region: str, born: date, sex: str) -> str:
        """A new ID for a child of ``sex`` (``1``, ``2`` or ``9``) born in ``region``."""
        parity = 0 if sex == "2" else 1
        slot = (region, born, parity)
        previous = self._last.get(slot)
        sequence = (1 if parity else 2) if previous is None else previous + 2
        if sequence > _LAST_SEQUENCE:
            raise CitizenIdsExhaustedError(f"no sequence number left for {region} on {born}")
        issued = citizen_id(region, born, sequence)
        self._last[slot] = sequence
        return issued
