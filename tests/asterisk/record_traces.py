"""Record the reference scenarios from a real Asterisk 22 (the lab configuration in a
container, sipp as carrier and positions):

    python -m tests.asterisk.record_traces OUTDIR [LETTERS]

writes OUTDIR/traces/<letter>-<name>.jsonl for each scenario (all of a to n by default,
in that order, on one Asterisk as the reference was recorded) and OUTDIR/api-docs/ (the
container's Swagger files). Needs a Docker engine, sipp and ``scripts/images``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import sys
import tarfile
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.asterisk.bed import AsteriskNode, SipPeers, image, start_lab_asterisk
from tests.asterisk.traces import SCENARIOS, Lab, lab_ready, letters, record, write_trace

REST_API = "/usr/share/asterisk/rest-api"


@contextlib.asynccontextmanager
async def lab(workdir: Path) -> AsyncIterator[Lab]:
    """The lab's Asterisk in a container, its positions registered."""
    with start_lab_asterisk(image("ari-app-asterisk")) as node:
        await lab_ready(node)
        peers = SipPeers(node, workdir)
        try:
            the_lab = Lab(node, peers)
            await the_lab.start_positions()
            yield the_lab
        finally:
            peers.stop()


def copy_api_docs(node: AsteriskNode, target: Path) -> None:
    """The Swagger files Asterisk serves, as shipped in the container."""
    stream, _ = node.docker().get_archive(REST_API)
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.endswith(".json"):
                extracted = tar.extractfile(member)
                assert extracted is not None
                target.mkdir(parents=True, exist_ok=True)
                (target / Path(member.name).name).write_bytes(extracted.read())


async def main(outdir: Path, selection: str) -> None:
    with tempfile.TemporaryDirectory(prefix="ari-traces-") as work:
        async with lab(Path(work)) as the_lab:
            copy_api_docs(the_lab.node, outdir / "api-docs")
            for letter in letters(selection):
                name, _ = SCENARIOS[letter]
                lines = await record(letter, the_lab)
                write_trace(lines, outdir / "traces" / f"{name}.jsonl")
                print(f"{name}: {len(lines)} lines", file=sys.stderr)


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path, help="where traces/ and api-docs/ are written")
    parser.add_argument("letters", nargs="?", default="".join(SCENARIOS))
    args = parser.parse_args()
    try:
        asyncio.run(main(args.outdir, args.letters))
    except pytest.skip.Exception as missing:
        # The bed says what is missing (engine, image, sipp) the way it tells the tests.
        sys.exit(f"record_traces: cannot record: {missing.msg}")


if __name__ == "__main__":
    run()
