"""China Standard Time (UTC+08:00), the departments' clock when a format has no offset."""

from datetime import date, datetime, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")


def in_cst(moment: datetime) -> datetime:
    """`moment` (aware) as seen on a clock in China."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a naive datetime has no place on the departments' clock")
    return moment.astimezone(CST)


def minute_stamp(moment: datetime) -> str:
    """`yyyyMMddHHmm` in UTC+08:00."""
    return in_cst(moment).strftime("%Y%m%d%H%M")


def day_stamp(day: date | datetime) -> str:
    """`yyyyMMdd`; a datetime is first moved to UTC+08:00."""
    if isinstance(day, datetime):
        day = in_cst(day).date()
    return day.strftime("%Y%m%d")


def iso_cst(moment: datetime) -> str:
    """ISO 8601 with the +08:00 offset, to the second: `2026-11-27T08:30:00+08:00`."""
    return in_cst(moment).isoformat(timespec="seconds")
