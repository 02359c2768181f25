"""Try an application against a running bokji (`make run`): register a mother and her child, their
household, and apply for three services at once. Prints the application with its cases (run again,
the application already made: the household holds those three cases).

    .venv/bin/python examples/apply.py [--url http://127.0.0.1:8000]

Registration numbers are synthetic (valid format; the agency simulator answers for any number).
Then sign in as `caseworker` at /login: the cases' tasks appear in the queue as their
investigations finish.
"""

from __future__ import annotations

import argparse
import json
import sys

import httpx

PASSWORD = "bokji-demo-2026"  # demo mode only


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    args = parser.parse_args()
    api = httpx.Client(base_url=args.url, timeout=30)
    token = api.post("/auth/token", data={"username": "caseworker", "password": PASSWORD}).json()["access_token"]
    api.headers["Authorization"] = f"Bearer {token}"

    def call(method: str, path: str, *, again_ok: bool = False, **kwargs) -> dict:
        r = api.request(method, path, **kwargs)
        if again_ok and r.status_code == 409:  # a second run: the person, household or application is there
            return r.json()
        if r.status_code >= 400:
            print(f"{method} {path}: {r.status_code} {r.text}", file=sys.stderr)
            raise SystemExit(1)
        return r.json()

    def person(number: str, name: str) -> dict:
        registered = call("POST", "/registry/persons", again_ok=True,
                          json={"registration_number": number, "name": name})
        if "id" in registered:
            return registered
        # Already registered (a second run): the 409 never names the person; the logged look-up does.
        return call("POST", "/registry/persons/find", json={"registration_number": number,
                                                           "purpose": "consultation"})

    mother, child = person("850315-2345678", "김엄마"), person("120420-4345678", "김아이")
    call("POST", "/registry/households", again_ok=True, json={
        "members": [{"person_id": mother["id"], "role": "head"}, {"person_id": child["id"], "role": "member",
                                                                           "relation": "child"}],
        "address": "전라남도 목포시 예시로 1", "region_class": "other", "valid_from": "2024-01-01"})
    application = call("POST", "/applications", again_ok=True, json={
        "applicant_id": mother["id"], "application_date": "2025-03-10",
        "services": ["MOHW-NBLSS-LIVELIHOOD", "MOHW-NBLSS-EDUCATION", "MOGEF-SINGLE-PARENT"],
        "consents": {"deposits": "CONSENT-EXAMPLE-1"}, "details": {"school_levels": {child["id"]: "middle"}}})
    already = "number" not in application
    if already:
        # A second run: the household already has these cases open, and one unit holds one case per
        # service; the refusal names the application that holds them, shown here instead.
        if not application.get("application_number"):
            print(f"POST /applications: {application['message']}", file=sys.stderr)
            return 1
        found = call("GET", "/applications", params={"person_id": mother["id"], "purpose": "consultation"})
        application = next(a for a in found if a["number"] == application["application_number"])
    print(json.dumps({"number": application["number"], "already_applied": already,
                      "cases": [{k: c[k] for k in ("service_code", "instance_id", "stage", "status")}
                                for c in application["cases"]]}, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
