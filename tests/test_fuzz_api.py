"""schemathesis against the app's own OpenAPI document, in-process over WSGI.

Every operation of ``/api/openapi.json`` gets generated requests (valid and invalid bodies,
parameters, uploads of random bytes): no answer may be a 5xx, and every answer must be one the
document lists, with the content type and JSON schema it documents. The number of cases tried
is printed at the end of the module so that CI's log shows it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from _fuzz_report import LINES
from _trained_models import trained_model_dir
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from poxscan.web import create_app

#: Generated cases per operation: bounded so CI stays in minutes.
MAX_EXAMPLES = 30
CASES: Counter = Counter()


@pytest.fixture(scope="module")
def web_app(tmp_path_factory, data_root):
    model_dir = trained_model_dir(
        str(tmp_path_factory.getbasetemp() / "poxscan_models"), str(data_root)
    )
    # The real LIME, cheap (10 perturbed copies): /api/explain is fuzzed too, never a 501.
    app = create_app(Path(model_dir), {"LIME_NUM_SAMPLES": 10})
    assert app.extensions["poxscan"].lime is not None, "LIME is part of the [deep] extra"
    return app


@pytest.fixture(scope="module")
def api_schema(web_app):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", web_app)


@pytest.fixture(scope="module", autouse=True)
def report_cases():
    yield
    LINES.append(f"schemathesis: {sum(CASES.values())} cases tried over {len(CASES)} operations")
    LINES.extend(f"  {n:4d}  {op}" for op, n in sorted(CASES.items()))


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _operations(api_schema) -> list:
    ops = [result.ok() for result in api_schema.get_all_operations()]
    assert ops, "the OpenAPI document lists no operation"
    return ops


def _fuzz(operation, mode: GenerationMode) -> int:
    """Run up to MAX_EXAMPLES generated cases against one operation; how many ran."""
    label = f"{operation.label} ({mode.value})"
    before = CASES[label]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        CASES[label] += 1
        case.call_and_validate(checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        # An operation without inputs (GET /) has no invalid request to generate.
        if mode is GenerationMode.POSITIVE:
            raise
    return CASES[label] - before


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_document(api_schema, mode):
    """Valid and invalid requests for every operation: no 5xx, every answer as documented."""
    tried = {op.label: _fuzz(op, mode) for op in _operations(api_schema)}
    if mode is GenerationMode.POSITIVE:
        assert all(n > 0 for n in tried.values()), tried
    else:  # the JSON and upload operations got invalid bodies (string path params cannot)
        for label in ("POST /api/predict", "POST /api/chat", "POST /api/explain", "POST /predict"):
            assert tried[label] >= MAX_EXAMPLES // 2, tried
