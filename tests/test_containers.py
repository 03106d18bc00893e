"""The application image (scripts/images) runs the command and checks the example topology."""

from __future__ import annotations

import pytest

from tests.asterisk.bed import docker_client, image


@pytest.mark.docker
def test_application_image_runs_the_command_and_checks_the_example_topology() -> None:
    client = docker_client()
    tag = image("ari-app")  # skips, saying so, when the engine has not got it
    container = client.containers.run(
        tag, ["topology", "check", "ari_app/examples/sdis77.toml"], network_mode="host", detach=True
    )
    try:
        assert container.wait(timeout=60)["StatusCode"] == 0
        output = container.logs()
    finally:
        container.remove(v=True)  # with its anonymous volume (the journal spool)
    assert b"sdis77" in output
