"""Schemathesis against a live server: every operation of /api/v1/ with a token holding every
scope, all checks, at least 100 examples per operation. No server error, no response outside
the schema."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from portal.api.api import api

pytestmark = pytest.mark.django_db(transaction=True)

CONFIG = Path(__file__).with_name("schemathesis.toml")


def test_the_api_keeps_to_its_schema(live_server, make_token, settings, tmp_path):
    # The generated requests are many and mostly wrong: the limits would answer 429 to most.
    settings.API_REQUESTS_PER_TOKEN_PER_MINUTE = 10**9
    settings.API_AUTH_FAILURES_PER_IP_PER_HOUR = 10**9
    settings.API_EMAIL_CHANGES_PER_CLIENT_PER_DAY = 10**9
    schema = tmp_path / "openapi.json"
    schema.write_text(json.dumps(api.get_openapi_schema(path_prefix="/api/v1")))
    token = make_token().plaintext
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "run",
        str(schema),
        "--url",
        live_server.url,
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "all",
        "--max-examples",
        "100",
        "--workers",
        "1",
        "--seed",
        "20261203",
        "--no-color",
    ]
    result = subprocess.run(  # noqa: S603 - our own command line
        command, capture_output=True, text=True, timeout=900, cwd=tmp_path, check=False
    )
    output = result.stdout + result.stderr
    generated = re.search(r"(\d+) generated", output)
    print(output[-3000:])
    assert result.returncode == 0, output[-6000:]
    assert generated and int(generated.group(1)) >= 100 * len(
        [op for path in api.get_openapi_schema()["paths"].values() for op in path]
    )
