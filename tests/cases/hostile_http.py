"""Hostile shapes of HTTP input that once gave `500` (issue 11, item 6), each as
one named case and as a hypothesis strategy for its whole class.

- numbers longer than Python converts (`sys.get_int_max_str_digits()`, 4,300
  digits) anywhere in a JSON body;
- ISO 8601 times that are valid but fall outside `datetime`'s years once in UTC
  (year 1 at +14:00, year 9999 at -14:00);
- header values with bytes that are not ASCII (HTTP headers are bytes; Starlette
  reads them as Latin-1, so `\\xe9` arrives as "é");
- bodies nested far deeper than any parser should recurse;
- bodies declared as something other than JSON.
"""

import json
import sys
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

HUGE_NUMBER = "9" * 5000
EXTREME_TIMES = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00")
NON_UTF8_VERIFICATION = b"34567\xe9"
DEEP_ARRAYS = b"[" * 5000 + b"]" * 5000
WRONG_CONTENT_TYPES = ("text/plain", "application/x-www-form-urlencoded", None)

_BIG = "\x00big\x00"  # a placeholder no event holds


def leaf_paths(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every path to a value that is not an object or an array."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in leaf_paths(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in leaf_paths(v, (*path, i))]
    return [path]


def with_number_at(document: Any, path: tuple[str | int, ...], number: str) -> bytes:
    """`document` as JSON text with the raw `number` in place of the value at `path`."""
    copy = json.loads(json.dumps(document))
    if not path:
        return number.encode()
    target = copy
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = _BIG
    return json.dumps(copy, ensure_ascii=False).replace(json.dumps(_BIG), number).encode()


def huge_numbers() -> st.SearchStrategy[str]:
    """JSON integers (and numbers with a fraction or exponent) too long to convert."""
    limit = sys.get_int_max_str_digits()
    digits = st.integers(limit + 1, limit + 3000).map(lambda n: "9" * n)
    return st.tuples(st.sampled_from(["", "-"]), digits, st.sampled_from(["", ".5", "e3"])).map(
        "".join
    )


@st.composite
def numbers_anywhere(draw: st.DrawFn, document: Any) -> bytes:
    """`document` with one of its values (or the whole of it) a huge number."""
    paths = [(), *leaf_paths(document)]
    return with_number_at(document, draw(st.sampled_from(paths)), draw(huge_numbers()))


def aware_times() -> st.SearchStrategy[str]:
    """ISO 8601 times with an offset, across all of `datetime`'s years and every
    offset from -14:00 to +14:00, edges included."""
    offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
    edges = st.sampled_from(
        [datetime.min, datetime.max.replace(microsecond=0), datetime(1970, 1, 1)]
    )
    moments = st.one_of(edges, st.datetimes(min_value=datetime.min, max_value=datetime.max))
    return st.one_of(
        st.sampled_from(EXTREME_TIMES),
        st.builds(lambda at, tz: at.replace(tzinfo=tz).isoformat(), moments, offsets),
        st.just(datetime.now(UTC).isoformat()),
    )


def header_values() -> st.SearchStrategy[bytes]:
    """Header values as bytes, mostly not ASCII (no CR, LF or NUL: those end a header)."""
    byte = st.integers(1, 255).filter(lambda b: b not in (10, 13)).map(lambda b: bytes([b]))
    return st.one_of(
        st.sampled_from([NON_UTF8_VERIFICATION, "²".encode("latin-1"), b"9" * 5000]),
        st.lists(byte, min_size=1, max_size=40).map(b"".join),
        st.builds(lambda a, b: a + b, st.sampled_from([b"34567", b"t=1,v1="]), byte),
        st.integers(1, 6000).map(lambda n: b"9" * n),
    )


def nested_bodies() -> st.SearchStrategy[bytes]:
    """JSON texts nested from 17 to 10,000 levels deep, in arrays, objects or both."""

    def build(depth: int, kinds: list[str]) -> bytes:
        opening = b"".join(b"[" if kinds[i % len(kinds)] == "[" else b'{"a":' for i in range(depth))
        closing = b"".join(
            b"]" if kinds[i % len(kinds)] == "[" else b"}" for i in reversed(range(depth))
        )
        return opening + closing

    return st.one_of(
        st.just(DEEP_ARRAYS),
        st.builds(
            build, st.integers(17, 10_000), st.lists(st.sampled_from("[{"), min_size=1, max_size=3)
        ),
    )


def wrong_media_types() -> st.SearchStrategy[str | None]:
    """Content types that are not JSON, or none at all."""
    return st.one_of(
        st.sampled_from(WRONG_CONTENT_TYPES),
        st.sampled_from(
            [
                "text/json",
                "application/xml",
                "multipart/form-data; boundary=x",
                "application/jsonx",
                "*/*",
                "application/octet-stream",
                "json",
                "",
            ]
        ),
    )
