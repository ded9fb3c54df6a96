"""Every endpoint's authorization, read from the OpenAPI document so that a new
endpoint cannot be added without being classified here: keyed endpoints refuse
a missing or wrong key (401), a hospital never sees another hospital's birth
(404, and nothing changes), operator endpoints refuse hospitals (403)."""

import random
from pathlib import Path

from birthlink.samples import DEMO_HOSPITAL, birth_event
from gateway.api.app import create_app
from tests.support.gateway import running_gateway

MINE, OTHER = DEMO_HOSPITAL["code"], "H11010500002"

# Open to anyone: the schema and the FHIR Questionnaire, health and metrics;
# parents prove themselves with the verification, departments with the
# signature (tested elsewhere).
PUBLIC = {
    ("get", "/v1/schemas/birth-event.json"),
    ("get", "/v1/fhir/Questionnaire/birth-application"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/v1/track/{tracking_code}"),
    ("get", "/v1/track/{tracking_code}/events"),
    ("post", "/v1/track/{tracking_code}/confirmations/{step}"),
    ("post", "/v1/callbacks/{department}"),
}
# A hospital's own births (and operators): another hospital gets 404.
BIRTH_SCOPED = {
    ("get", "/v1/births/{birth_id}"),
    ("get", "/v1/births/{birth_id}/history"),
    ("post", "/v1/births/{birth_id}/corrections"),
    ("post", "/v1/births/{birth_id}/cancel"),
}
# Operators list every birth; a hospital only its own.
OWN_LIST = {("get", "/v1/births")}
OPERATORS_ONLY = {
    ("post", "/v1/births/{birth_id}/steps/{step}/retry"),
    ("get", "/v1/dead-letters"),
    ("post", "/v1/dead-letters/{dead_letter_id}/redrive"),
}
HOSPITALS_ONLY = {("post", "/v1/births")}
BODIES = {
    "/v1/births/{birth_id}/corrections": {"child": {"weight_g": 3333}},
    "/v1/births/{birth_id}/cancel": {"reason": "posted in error"},
}


async def test_every_endpoint_is_classified_and_refuses_whoever_may_not_use_it(
    tmp_path: Path,
) -> None:
    async with running_gateway(tmp_path, (MINE, OTHER)) as gw:
        posted = await gw.client.post(
            "/v1/births", json=birth_event(random.Random(65)), headers=gw.auth(MINE)
        )
        birth_id = posted.json()["birth_id"]
        operations = {
            (method, path)
            for path, ops in create_app(gw.runtime).openapi()["paths"].items()
            for method in ops
        }
        classified = PUBLIC | BIRTH_SCOPED | OWN_LIST | OPERATORS_ONLY | HOSPITALS_ONLY
        assert operations - classified == set(), "classify the new endpoints here"
        before = await gw.count_rows()
        history = await gw.client.get(f"/v1/births/{birth_id}/history", headers=gw.auth(MINE))

        for method, template in sorted(operations - PUBLIC):
            path = (
                template.replace("{birth_id}", birth_id)
                .replace("{step}", "birth_certificate")
                .replace("{dead_letter_id}", "1")
            )
            body = BODIES.get(
                template, birth_event(random.Random(66)) if method == "post" else None
            )

            async def call(
                headers: dict[str, str], method: str = method, path: str = path, body: object = body
            ) -> int:
                answer = await gw.client.request(method, path, headers=headers, json=body)
                return answer.status_code

            where = f"{method.upper()} {template}"
            assert await call({}) == 401, where
            assert await call({"Authorization": "Bearer bl_nothere_x"}) == 401, where
            assert await call({"Authorization": "Basic dXNlcjpwYXNz"}) == 401, where
            if (method, template) in BIRTH_SCOPED:
                assert await call(gw.auth(OTHER)) == 404, where
            if (method, template) in OPERATORS_ONLY:
                assert await call(gw.auth(MINE)) == 403, where
            if (method, template) in HOSPITALS_ONLY:
                assert await call(gw.auth("operator")) == 403, where

        listed = await gw.client.get("/v1/births", headers=gw.auth(OTHER))
        assert birth_id not in listed.text
        asked = await gw.client.get(f"/v1/births?hospital={MINE}", headers=gw.auth(OTHER))
        assert asked.status_code == 403
        assert birth_id in (await gw.client.get("/v1/births", headers=gw.auth(MINE))).text

        assert await gw.count_rows() == before  # nothing was stored or changed
        again = await gw.client.get(f"/v1/births/{birth_id}/history", headers=gw.auth(MINE))
        assert again.json() == history.json()
