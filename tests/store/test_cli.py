"""``ari-app db`` and ``ari-app token`` against a real PostgreSQL."""

from __future__ import annotations

import json

import psycopg
import pytest

from ari_app.cli import main
from ari_app.store.migrate import known_migrations

Capture = pytest.CaptureFixture[str]


def run(monkeypatch: pytest.MonkeyPatch, dsn: str, *argv: str) -> int:
    monkeypatch.setenv("ARI_APP_DATABASE_DSN", dsn)
    return main(list(argv))


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got: {text!r}"
    return lines[0]


LATEST = known_migrations()[-1].version
PENDING = ", ".join(f"{m.version} {m.name}" for m in known_migrations())


def test_upgrade_then_status_of_a_new_database(
    pg_empty_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    assert run(monkeypatch, pg_empty_dsn, "db", "status") == 1
    assert f"pending: {PENDING}: run 'ari-app db upgrade'" in capsys.readouterr().out

    assert run(monkeypatch, pg_empty_dsn, "db", "upgrade") == 0
    assert f"schema upgraded from version 0 to {LATEST} ({PENDING})" in capsys.readouterr().out
    assert run(monkeypatch, pg_empty_dsn, "db", "upgrade") == 0
    assert f"schema already at version {LATEST}, nothing to do" in capsys.readouterr().out

    assert run(monkeypatch, pg_empty_dsn, "db", "status") == 0
    assert capsys.readouterr().out.strip().endswith("up to date")
    assert run(monkeypatch, pg_empty_dsn, "db", "status", "--json") == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["version"], status["up_to_date"], status["pending"]) == (LATEST, True, [])


def test_status_of_a_newer_schema_is_refused_in_one_line(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (%s, 'future', 'x')", (LATEST + 1,))
    try:
        assert run(monkeypatch, pg_dsn, "db", "status") == 1
        assert "newer than this ari-app knows" in one_line(capsys.readouterr().err)
        assert run(monkeypatch, pg_dsn, "db", "upgrade") == 1
        assert "newer than this ari-app knows" in one_line(capsys.readouterr().err)
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute("DELETE FROM schema_migrations WHERE version = %s", (LATEST + 1,))


@pytest.mark.parametrize("command", [["db", "status"], ["db", "upgrade"], ["token", "list"]])
def test_unreachable_database_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: Capture, command: list[str]
) -> None:
    dsn = "postgresql://postgres@127.0.0.1:1/journal"
    assert run(monkeypatch, dsn, *command) == 1
    assert "cannot connect to PostgreSQL at 127.0.0.1:1/journal" in one_line(
        capsys.readouterr().err
    )


def test_token_is_printed_once_and_never_listed(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    assert run(monkeypatch, pg_dsn, "token", "create", "--name", "hall A", "--scope", "read") == 0
    created = capsys.readouterr().out
    [plaintext] = [w for w in created.split() if w.startswith("ariapp_")]

    assert run(monkeypatch, pg_dsn, "token", "list") == 0
    listed = capsys.readouterr().out
    assert "hall A" in listed
    assert plaintext not in listed
    assert run(monkeypatch, pg_dsn, "token", "list", "--json") == 0
    assert plaintext not in capsys.readouterr().out


def test_token_created_for_scripts_then_revoked(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    argv = ["token", "create", "--name", "cogic", "--scope", "national", "--by", "admin"]
    assert run(monkeypatch, pg_dsn, *argv, "--json") == 0
    created = json.loads(capsys.readouterr().out)
    assert created["token"].startswith("ariapp_")
    assert (created["scopes"], created["created_by"]) == (["national"], "admin")

    assert run(monkeypatch, pg_dsn, "token", "revoke", str(created["id"]), "--by", "bob") == 0
    assert "revoked by bob" in capsys.readouterr().out
    assert run(monkeypatch, pg_dsn, "token", "revoke", str(created["id"]), "--by", "eve") == 0
    again = capsys.readouterr().out.strip()
    assert again.startswith(f"token {created['id']} (cogic) was already revoked on ")
    assert again.endswith(" by bob: nothing changed")
    assert run(monkeypatch, pg_dsn, "token", "list", "--active") == 0
    assert "no tokens" in capsys.readouterr().out
    assert run(monkeypatch, pg_dsn, "token", "list") == 0
    assert "revoked" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["create", "--name", "x", "--scope", "admin"], "unknown token scope 'admin'"),
        (["create", "--name", "x", "--scope", "centre:sdis77"], "unknown centre sdis77"),
        (["create", "--name", " ", "--scope", "read"], "a token needs a name"),
        (["revoke", "999"], "there is no API token with id 999"),
    ],
)
def test_token_mistakes_are_explained_in_one_line(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: Capture, argv: list[str], message: str
) -> None:
    assert run(monkeypatch, pg_dsn, "token", *argv) != 0
    assert message in one_line(capsys.readouterr().err)


def test_token_commands_before_the_schema_exists_ask_for_the_upgrade(
    pg_empty_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    assert run(monkeypatch, pg_empty_dsn, "token", "list") == 1
    assert "run 'ari-app db upgrade'" in one_line(capsys.readouterr().err)
