"""schemathesis over the whole OpenAPI document, with a valid token.

Whatever it sends, the API answers without a 5xx, with a documented status, content
type, headers and body. The operations are driven with hypothesis directly rather
than through schemathesis' pytest plugin, whose fixture loader does not run on
pytest 9.
"""

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 60


def _seed(client, headers):
    """A person in a household, so that generated calls also reach real records."""
    def create(kind, attributes):
        body = {"kind": kind, "attributes": attributes, "channel": "desk", "process": "declared"}
        return client.post("/api/v1/parties", json=body, headers=headers).get_json()["party"]["id"]

    person = create("person", {"family_name": "Wamytan", "given_names": "Élise"})
    household = create("household", {"name": "Foyer Wamytan"})
    link = client.post(
        "/api/v1/links",
        json={"kind": "member_of", "person_id": person, "target_id": household, "role": "head"},
        headers=headers,
    ).get_json()["id"]
    return {"party_id": person, "link_id": link}


def test_every_operation_conforms_to_the_openapi_document(app, client, headers):
    real_ids = _seed(client, headers)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case):
            case.call_and_validate(headers=headers, checks=CHECKS)
            if case.path_parameters and set(case.path_parameters) & set(real_ids):
                case.path_parameters.update(
                    {name: value for name, value in real_ids.items() if name in case.path_parameters}
                )
                case.call_and_validate(headers={**headers, "If-Match": "*"}, checks=CHECKS)

        try:
            exercise()
        except Exception as failure:
            raise AssertionError(f"{operation.method.upper()} {operation.path}: {failure}") from failure
