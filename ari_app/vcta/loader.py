"""Read a topology file: the one place of the policy package that touches the file system."""

from __future__ import annotations

from pathlib import Path

from ari_app.vcta.problems import TopologyError, TopologyProblem
from ari_app.vcta.toml_format import TopologyParse, read_topology
from ari_app.vcta.topology import Topology


def read_topology_file(path: str | Path) -> TopologyParse:
    """Read and check the topology in ``path``; an unreadable file is one more problem."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return _unreadable(name, "there is no such file.")
    except IsADirectoryError:
        return _unreadable(name, "this is a directory, not a topology file.")
    except PermissionError:
        return _unreadable(name, "the file cannot be read (permission denied).")
    except UnicodeDecodeError as error:
        return _unreadable(
            name, f"the file is not UTF-8 text (byte {error.start} cannot be decoded)."
        )
    except OSError as error:
        return _unreadable(name, f"the file cannot be read ({error.strerror or error}).")
    return read_topology(text, name)


def load_topology(path: str | Path) -> Topology:
    """The checked topology in ``path``; raises ``TopologyError`` listing every problem."""
    result = read_topology_file(path)
    if result.topology is None:
        raise TopologyError(result.problems)
    return result.topology


def _unreadable(name: str, message: str) -> TopologyParse:
    return TopologyParse(None, (TopologyProblem(name, "", "", f"cannot read: {message}"),))
