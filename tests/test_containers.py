"""The application image builds and runs (needs a Docker engine; skipped without one)."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def docker_client() -> Any:
    """A Docker client, or skip saying why there is none."""
    if not (os.environ.get("DOCKER_HOST") or Path("/var/run/docker.sock").exists()):
        pytest.skip("no Docker engine: DOCKER_HOST unset and /var/run/docker.sock absent")
    docker: Any = importlib.import_module("docker")
    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except Exception as error:  # the engine's absence takes many shapes
        pytest.skip(f"no Docker engine reachable: {error}")
    return client


@pytest.mark.docker
def test_application_image_runs_the_command_and_checks_the_example_topology() -> None:
    client = docker_client()
    image_module: Any = importlib.import_module("testcontainers.core.image")
    with image_module.DockerImage(
        path=str(ROOT), dockerfile_path="docker/Dockerfile", tag="ari-app:test"
    ) as image:
        output = client.containers.run(
            str(image), ["topology", "check", "ari_app/examples/sdis77.toml"], remove=True
        )
    assert b"sdis77" in output
