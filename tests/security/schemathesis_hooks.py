"""Schemathesis hooks (`SCHEMATHESIS_HOOKS=tests.security.schemathesis_hooks`):
the hostile shapes of tests/cases/hostile_http.py mixed into what schemathesis
generates from the OpenAPI document, so that its run covers their classes too.

- `GET /v1/births`: `created_from` / `created_to` across every year and offset;
- the tracking routes: `X-Verification` and `Last-Event-ID` of any Latin-1 bytes;
- posted births and corrections: a number too long to convert at any place,
  or the body nested past the gateway's depth limit;
- posted births: also valid sample events of the demo hospital (the key the
  run uses), so that births are accepted and the stateful phase can follow the
  links of the answer (birth_id, tracking_code) to the operations on a birth;
  and the documented FHIR Bundle of the same hospital, its birth moved to a
  random recent time under a random record id (docs/fhir.md). Either is sent
  under either media type the operation declares (JSON or FHIR JSON), so some
  valid bodies arrive as the other kind and are refused without a 5xx.

Every generated case is kept or changed at random, so schemathesis' own
values still get through. The module runs in schemathesis' process only.
"""

import random
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import schemathesis
from hypothesis import strategies as st
from schemathesis import HookContext

from birthlink.samples import birth_event
from tests.cases.fhir_bundles import example, shifted
from tests.cases.hostile_http import aware_times, leaf_paths

# Let this process (the client) write numbers longer than Python converts by default.
sys.set_int_max_str_digits(0)
HUGE = 10**5000 - 1


def _is(context: HookContext, method: str, path: str) -> bool:
    operation = context.operation
    return operation is not None and (operation.method.upper(), operation.path) == (method, path)


@schemathesis.hook
def flatmap_query(context: HookContext, query: dict[str, Any] | None) -> st.SearchStrategy[Any]:
    if not _is(context, "GET", "/v1/births"):
        return st.just(query)
    hostile = st.fixed_dictionaries(
        {}, optional={"created_from": aware_times(), "created_to": aware_times()}
    ).map(lambda times: {**(query or {}), **times})
    return st.one_of(st.just(query), hostile)


# Latin-1 text as requests sends it; no control characters (the client refuses them).
_LATIN1 = st.characters(codec="latin-1", exclude_categories=["Cc"])
# No leading or trailing whitespace either: requests refuses to send it.
_HEADER = st.one_of(
    st.sampled_from(["34567\xe9", "²", "9" * 5000]),
    st.text(_LATIN1, min_size=1, max_size=40).filter(lambda v: v == v.strip() != ""),
)


@schemathesis.hook
def flatmap_headers(context: HookContext, headers: dict[str, Any] | None) -> st.SearchStrategy[Any]:
    operation = context.operation
    if operation is None or not operation.path.startswith("/v1/track/"):
        return st.just(headers)
    hostile = st.fixed_dictionaries(
        {"X-Verification": _HEADER}, optional={"Last-Event-ID": _HEADER}
    ).map(lambda extra: {**(headers or {}), **extra})
    return st.one_of(st.just(headers), hostile)


def _with_huge_number(body: Any, path: tuple[str | int, ...], sign: int) -> Any:
    if not path:
        return sign * HUGE
    target = body
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = sign * HUGE
    return body


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


@schemathesis.hook
def flatmap_body(context: HookContext, body: Any) -> st.SearchStrategy[Any]:
    if not (
        _is(context, "POST", "/v1/births")
        or _is(context, "POST", "/v1/births/{birth_id}/corrections")
    ):
        return st.just(body)
    paths = [(), *leaf_paths(body)]
    huge = st.builds(
        lambda path, sign: _with_huge_number(_copy(body), path, sign),
        st.sampled_from(paths),
        st.sampled_from([1, -1]),
    )
    deep = st.integers(17, 500).map(_nested)  # the client's encoder recurses too
    if _is(context, "POST", "/v1/births"):
        valid = st.one_of(
            st.integers(0, 2**32).map(lambda seed: birth_event(random.Random(seed))),
            st.integers(0, 2**32).map(_fhir_bundle),
        )
        return st.one_of(valid, st.one_of(st.just(body), huge, deep))  # half of them valid
    return st.one_of(st.just(body), huge, deep)


def _fhir_bundle(seed: int) -> dict[str, Any]:
    """The documented Bundle, born at a random moment of the last 300 days."""
    rng = random.Random(seed)
    born_before = datetime.now(UTC) - timedelta(minutes=rng.randint(0, 300 * 24 * 60))
    return shifted(example(), born_before, f"ST-{seed}")


def _copy(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: _copy(v) for k, v in body.items()}
    if isinstance(body, list):
        return [_copy(v) for v in body]
    return body
