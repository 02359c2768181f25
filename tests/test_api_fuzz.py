"""schemathesis over the app's OpenAPI: no operation answers any input with a server error.

The app runs in-process (schemathesis' ASGI transport) on the real PostgreSQL and Redis of the
suite, once as a caseworker and once as an admin (Bearer tokens from /auth/token, so cookie sign-in
changes do not matter here): every operation, positive and negative examples. Examples are
derandomized, so a run finds the same cases each time and CI stays stable. Each operation is a test
of its own, so every one starts from the truncated tables; the process library is not deployed for
each (that doubled the set-up), the specific inputs it needs are in tests/test_inputs.py; the catalog
and the rule parameters are loaded (screening runs every service's rule on the generated households).
Measured on the shared two-core VM: 88 tests (44 operations × 2 roles, 12 examples each) in
95-165 s depending on the load; `EXAMPLES` is what to lower if that grows.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error

from api.app import create_app
from tests.conftest import DEMO_PASSWORD

EXAMPLES = 12  # per operation and role


APP = create_app()
# The schema is read from the app object (no request, no lifespan) when the module is collected; calls go
# to the same app in-process, whose lifespan starts with the first call, after the database fixture.
schema = schemathesis.openapi.from_dict(APP.openapi())
schema.app = APP
schema.config.generation.update(max_examples=EXAMPLES, deterministic=True)


@pytest.fixture
def bearer(role) -> dict[str, str]:
    from bokji.catalog import service as catalog
    from bokji.db import unit_of_work
    from bokji.rules import parameters

    with unit_of_work() as session:  # cheap, unlike the library: screening then runs its rules on the inputs
        catalog.load(session)
        parameters.load(session)
    token = TestClient(APP).post("/auth/token", data={"username": role, "password": DEMO_PASSWORD})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


@pytest.mark.parametrize("role", ["caseworker", "admin"])
@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_no_operation_gives_a_server_error(case, bearer):
    case.call_and_validate(headers=bearer, checks=[not_a_server_error])
