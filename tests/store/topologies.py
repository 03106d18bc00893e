"""Topology files for the import tests, and a way to import them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import ari_app
from ari_app.store.db import Connection
from ari_app.store.topology_import import ImportReport, import_topology
from ari_app.vcta import load_topology

EXAMPLES = Path(ari_app.__file__).parent / "examples"

HEADER = """
[policy]
default_unit = "a77"
backup_unit = "b91"
last_resort_after = 120

[announcements]
welcome = "sound:welcome"
reminder = "sound:reminder"
reminder_every = 30
music_on_hold = "default"
"""


def centre(centre_id: str, *positions: str, extra: str = "") -> str:
    """A centre table with the given position ids (endpoints PJSIP/<id>)."""
    endpoints = ", ".join(f'"PJSIP/{p}"' for p in positions)
    return f"""
[centres.{centre_id}]
name = "Centre {centre_id}"
positions = [{endpoints}]
max_queue = 5
max_wait = 30
reserve = 0
overflow_cap = 2
{extra}
"""


def vcta(vcta_id: str, *members: str, active: bool = False) -> str:
    names = ", ".join(f'"{m}"' for m in members)
    return f"""
[virtual_ctas.{vcta_id}]
name = "Pool {vcta_id}"
members = [{names}]
active = {"true" if active else "false"}
"""


# Everything the format allows that a careless store could lose or reorder: shared and own
# announcements, repeated and unordered routing keys, ranks of neighbours, positions given
# as tables, declared modes, virtual CTAs with derived and explicit limits.
RICH = """
[policy]
default_unit = "vcta-nord"
backup_unit = "national"
last_resort_after = 90.5
skip_failed_position_for = 12

[announcements]
welcome = "sound:welcome"
reminder = "sound:reminder"
reminder_every = 25
music_on_hold = "default"

[centres.sdis77]
name = "CTA-CODIS de Seine-et-Marne"
department = "77"
routing_keys = ["18", "112", "18", "77"]
positions = [
    "PJSIP/sdis77-op2", { id = "sdis77-chef", endpoint = "SIP/chef77" }, "PJSIP/sdis77-op1",
]
max_queue = 8
max_wait = 30.5
reserve = 1
overflow_cap = 4
neighbours = [["sdis91", "sdis60"], "sdis45"]

[centres.sdis77.announcements]
welcome = "recording:welcome-77"
reminder_every = 15

[centres.sdis77.modes]
outgoing_mutual_aid = false
crisis_message = "sound:crisis/flood"

[centres.sdis91]
name = "CTA-CODIS de l'Essonne"
department = "91"
positions = ["PJSIP/sdis91-op1", "PJSIP/sdis91-op2"]
max_queue = 6
max_wait = 20
reserve = 0
overflow_cap = 3
neighbours = ["sdis77", ["sdis60", "sdis45"]]

[centres.sdis91.modes]
diverted_to = "sdis45"
incoming_mutual_aid = false

[centres.sdis45]
name = "CTA-CODIS du Loiret"
routing_keys = ["2a0"]
positions = ["PJSIP/sdis45-op1"]
max_queue = 2
max_wait = 45
reserve = 0
overflow_cap = 0

[centres.sdis60]
name = "CTA-CODIS de l'Oise"
department = "60"
positions = ["IAX2/sdis60-op1", "PJSIP/sdis60-op2"]
max_queue = 3
max_wait = 40
reserve = 1
overflow_cap = 1
neighbours = [["sdis45", "sdis77"]]

[centres.national]
name = "Plateforme nationale"
positions = ["PJSIP/national-op1"]
max_queue = 10
max_wait = 60
reserve = 0
overflow_cap = 10

[centres.national.announcements]
music_on_hold = "national"

[virtual_ctas.vcta-sud]
name = "Sud (nuit)"
members = ["sdis91", "sdis77"]
active = true
max_queue = 3
reserve = 0

[virtual_ctas.vcta-sud.announcements]
reminder = "sound:reminder-sud"

[virtual_ctas.vcta-nord]
name = "Nord"
members = ["sdis60", "sdis45"]
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def source_and_digest(path: Path) -> tuple[str, str]:
    return str(path.resolve()), hashlib.sha256(path.read_bytes()).hexdigest()


async def import_file(conn: Connection, path: Path, *, actor: str = "admin") -> ImportReport:
    """Import ``path`` as ``ari-app topology import`` does."""
    source, digest = source_and_digest(path)
    return await import_topology(
        conn, load_topology(path), source=source, digest=digest, actor=actor
    )
