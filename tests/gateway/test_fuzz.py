"""The fuzzer in the suite: schemathesis over the whole OpenAPI document of the real gateway (uvicorn on
127.0.0.1, a real database), without login, as a user and as an admin.

Every operation gets the document's examples, schemathesis' coverage cases (boundaries, wrong types, missing
and undeclared parameters, methods the path does not allow) and a few generated requests, valid and invalid
(`ROLES` says which role runs which).
Each answer must not be a 5xx and must conform to the document: a status it lists, its content type and
headers, a body matching its schema, 405 with a correct `Allow` header, invalid data refused with a 4xx.
Generation is deterministic, so a failure comes back on the next run.

It runs schemathesis' own command line (`schemathesis run`) against the served document: its pytest
plugin does not work with the pytest this suite uses (it reads `request.node._nodeid`, gone in pytest 9).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from aether.config import Settings
from tests.gateway.conftest import Gateway, register

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 3  # generated requests per operation, on top of the examples and coverage cases
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "unsupported_method",
    "allow_header_conformance",
)
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


@pytest.fixture
def gateway_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"feed_cache_seconds": 0.0})


def accounts(gateway: Gateway) -> dict[str, dict[str, str]]:
    """The headers of each role; the first account of an empty installation is its admin."""
    with gateway.client() as client:
        admin = register(client)
        user = register(client)
    assert admin["user"]["role"] == "admin" and user["user"]["role"] == "user"
    return {"anonymous": {}, "user": user["headers"], "admin": admin["headers"]}


# What each role runs, to stay well under two minutes on two cores: without login every operation gets its
# examples and generated requests (each answers 401 before it reads its input, or reads it as anyone may);
# the coverage cases, the bulk, go to the user for the operations of users and to the admin for the admin's.
ROLES: dict[str, list[str]] = {
    "anonymous": ["--phases", "examples,fuzzing"],
    "user": ["--phases", "examples,coverage,fuzzing", "--exclude-tag", "admin"],
    "admin": ["--phases", "examples,coverage,fuzzing", "--include-tag", "admin"],
}


def schemathesis_run(gateway: Gateway, role: str, headers: dict[str, str], report: Path) -> tuple[int, str]:
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{gateway.url}/openapi.json",
        "--checks",
        ",".join(CHECKS),
        *ROLES[role],
        "--max-examples",
        str(MAX_EXAMPLES),
        "--generation-deterministic",
        "--no-shrink",
        "--workers",
        "1",  # with threads, Python 3.11 sometimes fails compiling the generators' code (SystemError)
        "--request-timeout",
        "30",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("role", ["anonymous", "user", "admin"])
def test_the_api_conforms_to_its_document(gateway: Gateway, role: str, tmp_path: Path) -> None:
    headers = accounts(gateway)[role]
    code, output = schemathesis_run(gateway, role, headers, tmp_path / "report.json")
    (tmp_path / "output.txt").write_text(output)
    assert code == 0, output[-20000:]
    report: dict[str, Any] = json.loads((tmp_path / "report.json").read_text())
    cases, operations = report["test_cases"], report["operations"]
    print(f"\nschemathesis as {role}: {cases['generated']} cases over {operations['tested']} operations, 0 failures")
    assert cases["generated"] > operations["tested"] > 0 and cases["with_failures"] == 0


def test_the_document_is_served(gateway: Gateway) -> None:
    """The document the fuzzer reads is the app's own."""
    with httpx.Client(base_url=gateway.url) as client:
        document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.") and "/v1/shows" in document["paths"]
