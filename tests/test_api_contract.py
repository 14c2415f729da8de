"""The API's contract, checked from outside against a running server on SQLite and on
PostgreSQL: schemathesis finds no 5xx, every endpoint but health and login needs a token,
and the migrations go up, down and up again."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from clipforge.storage import database
from tests.conftest import ROOT
from tests.servers import Server, pg_database

OPEN = {("GET", "/api/health"), ("POST", "/api/auth/token")}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def contract_server(request: pytest.FixtureRequest,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp(f"contract-{request.param}")
    if request.param == "sqlite":
        running = Server(root / "data", f"sqlite:///{root / 'api.db'}", pool=False).start()
        yield running
        running.stop()
        return
    with pg_database() as url:
        running = Server(root / "data", url, pool=False).start()
        yield running
        running.stop()


@pytest.fixture(scope="module")
def contract_token(contract_server: Server) -> str:
    return contract_server.cli("user", "create", "fuzzer", "--password", "pw").strip()


def test_no_request_makes_the_server_fail(contract_server: Server,
                                          contract_token: str) -> None:
    """Schemathesis generates requests for every operation from the OpenAPI schema."""
    schema = schemathesis.openapi.from_url(f"{contract_server.url}/openapi.json")
    headers = {"Authorization": f"Bearer {contract_token}"}
    failures: list[str] = []
    tried = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def call(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> "
                                f"{response.status_code}: {response.text[:300]}")

        call()
        tried += 1
    assert tried >= 20
    assert failures == [], "\n".join(failures)


def operations(server: Server) -> list[tuple[str, str]]:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    return [(method.upper(), path) for path, item in spec["paths"].items()
            for method in item]


def test_every_endpoint_but_health_and_login_needs_a_token(contract_server: Server) -> None:
    found = operations(contract_server)
    assert len(found) >= 20
    for method, path in found:
        url = contract_server.url + re.sub(r"\{[a-z_]+\}", "1", path)
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            answer = httpx.request(method, url, headers=headers)
            if (method, path) in OPEN:
                assert answer.status_code != 401, (method, path)
            else:
                assert answer.status_code == 401, (method, path, answer.text)
                assert answer.json()["code"] == "unauthorized"
    ws = httpx.get(contract_server.url + "/ws")  # not a WebSocket handshake at all
    assert ws.status_code in (400, 404, 426)


def test_migrations_go_up_down_and_up_on_postgresql() -> None:
    """With the `alembic` command itself, as a developer or an operator would run it."""
    with pg_database() as url:
        env = {**os.environ, "CLIPFORGE_DATABASE_URL": url}

        def alembic(*args: str) -> None:
            proc = subprocess.run([str(Path(sys.executable).with_name("alembic")), *args],
                                  cwd=ROOT, env=env, capture_output=True, text=True)
            assert proc.returncode == 0, proc.stderr

        engine = database.make_engine(url)
        alembic("upgrade", "head")
        assert {"streams", "jobs", "events", "api_tokens", "publications"} <= set(
            sa_tables(engine))
        alembic("downgrade", "base")
        assert database.current(engine) == "base"
        assert set(sa_tables(engine)) <= {"alembic_version"}
        alembic("upgrade", "head")
        assert database.current(engine) != "base"
        assert "jobs" in sa_tables(engine)
        engine.dispose()


def sa_tables(engine: object) -> list[str]:
    from sqlalchemy import inspect

    return inspect(engine).get_table_names()


def test_migrations_match_the_models(tmp_path: Path) -> None:
    """A model change without its migration shows up here, not on a user's database."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from clipforge.storage.models import Base

    engine = database.make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    database.upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
