"""GB/T 2260 administrative division codes, looked up in python-stdnum's table.

The table (``stdnum/cn/loc.dat``) lists every six-digit code ever assigned with the
names it has carried, each name optionally dated: ``[-2010]崇文区`` ended in 2010,
``[2015-]密云区`` started in 2015, an undated name is in use.

- :func:`region_exists`: the code is in use today (at least one current name). Births,
  household registrations, insurance and mail go to places that exist now.
- :func:`region_known`: the code was ever assigned. A resident ID keeps the region
  code it was issued with, even after the district was merged away, so parents'
  IDs are checked against this.
- :func:`region_name`: a display name, province + prefecture + county.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from stdnum import numdb

__all__ = ["RegionNameError", "load_table", "region_exists", "region_known", "region_name"]

_CODE = re.compile(r"[0-9]{6}")
_DATED = re.compile(r"\[(?P<start>[0-9]*)-(?P<end>[0-9]*)\](?P<name>.+)")
# Codes that group counties for statistics rather than name a place; left out of
# display names ("北京市市辖区朝阳区" reads wrong).
_GROUPINGS = frozenset(
    {"市辖区", "县", "省直辖行政单位", "省直辖县级行政单位", "自治区直辖县级行政单位"}
)


class RegionNameError(KeyError):
    """The code is not in the GB/T 2260 table."""


@dataclass(frozen=True, slots=True)
class _Name:
    name: str
    start: int | None
    end: int | None

    @property
    def current(self) -> bool:
        return self.end is None


@dataclass(frozen=True, slots=True)
class _Entry:
    province: str
    names: tuple[_Name, ...]

    @property
    def current_names(self) -> tuple[_Name, ...]:
        return tuple(name for name in self.names if name.current)


def _parse_names(raw: str) -> tuple[_Name, ...]:
    names: list[_Name] = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        dated = _DATED.fullmatch(part)
        if dated is None:
            names.append(_Name(part, None, None))
            continue
        start, end = dated["start"], dated["end"]
        names.append(_Name(dated["name"], int(start) if start else None, int(end) if end else None))
    return tuple(names)


@lru_cache(maxsize=8192)
def _entry(code: str) -> _Entry | None:
    if not isinstance(code, str) or _CODE.fullmatch(code) is None:
        return None
    province = ""
    names: tuple[_Name, ...] = ()
    for part, props in numdb.get("cn/loc").info(code):
        if "province" in props:
            province = props["province"]
        if len(part) == 4 and "county" in props:
            names = _parse_names(props["county"])
    if not province or not names:
        return None
    return _Entry(province, names)


def load_table() -> None:
    """Read the table now (about 0.1 s of CPU, once a process), at start-up
    rather than while checking the first birth."""
    numdb.get("cn/loc")


def region_exists(code: str) -> bool:
    """Whether ``code`` is a GB/T 2260 code in use today."""
    entry = _entry(code)
    return entry is not None and bool(entry.current_names)


def region_known(code: str) -> bool:
    """Whether ``code`` was ever a GB/T 2260 code (current or historical)."""
    return _entry(code) is not None


def _display(entry: _Entry) -> str:
    current = entry.current_names
    # A code no longer in use is shown with its last name.
    return (current[-1] if current else entry.names[-1]).name


def region_name(code: str) -> str:
    """Province, prefecture and county of ``code``, e.g. ``浙江省杭州市西湖区``.

    Raises :class:`RegionNameError` for a code that is not in the table.
    """
    entry = _entry(code)
    if entry is None:
        raise RegionNameError(code)
    parts = [entry.province]
    county = _display(entry)
    if code.endswith("0000"):
        # The province itself: the table repeats its name as the "county".
        return entry.province
    if not code.endswith("00"):
        prefecture = _entry(code[:4] + "00")
        if prefecture is not None:
            name = _display(prefecture)
            if name not in _GROUPINGS and name != entry.province:
                parts.append(name)
    if county not in _GROUPINGS and county not in parts:
        parts.append(county)
    return "".join(parts)
