"""ARI_APP_ASTERISK_NODES: every Asterisk node by name, or the one node of ARI_APP_ARI_URL."""

from __future__ import annotations

import pytest

from ari_app.cli import main
from ari_app.settings import load_settings


def test_without_nodes_the_one_node_is_named_and_at_the_ari_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ARI_APP_ASTERISK_NODES", raising=False)
    monkeypatch.setenv("ARI_APP_ARI_URL", "http://127.0.0.1:8188/ari")
    assert load_settings().nodes() == (("asterisk", "http://127.0.0.1:8188/ari"),)
    monkeypatch.setenv("ARI_APP_NODE_NAME", "paris")
    assert load_settings().nodes() == (("paris", "http://127.0.0.1:8188/ari"),)


def test_nodes_are_read_in_order_with_spaces_around_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "ARI_APP_ASTERISK_NODES",
        " paris=http://127.0.0.1:8088/ari , lyon = http://127.0.0.1:8188/ari",
    )
    assert load_settings().nodes() == (
        ("paris", "http://127.0.0.1:8088/ari"),
        ("lyon", "http://127.0.0.1:8188/ari"),
    )


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("paris=http://127.0.0.1:8088/ari,paris=http://127.0.0.1:8188/ari", "given twice"),
        ("paris=http://127.0.0.1:8088/ari,lyon=http://127.0.0.1:8088/ari", "the same URL"),
        ("paris=ftp://127.0.0.1/ari", "is not an http(s) URL"),
        ("paris=not a url", "is not an http(s) URL"),
        ("http://127.0.0.1:8088/ari", "is not name=URL"),
        ("paris=http://127.0.0.1:8088/ari,", "an entry is empty"),
        ("=http://127.0.0.1:8088/ari", "is not name=URL"),
        ("par is=http://127.0.0.1:8088/ari", "may hold only letters"),
    ],
)
def test_a_wrong_node_list_stops_with_one_sentence_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str, said: str
) -> None:
    monkeypatch.setenv("ARI_APP_ASTERISK_NODES", value)
    assert main(["settings"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert err.startswith("ari-app: invalid setting ARI_APP_ASTERISK_NODES: ")
    assert said in err


def test_the_node_down_delay_must_be_positive(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ARI_APP_NODE_DOWN_AFTER_S", "0")
    assert main(["settings"]) == 2
    assert "ARI_APP_NODE_DOWN_AFTER_S" in capsys.readouterr().err
