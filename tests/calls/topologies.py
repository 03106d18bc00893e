"""Small topologies where each rule of a scenario shows plainly."""

from __future__ import annotations

from ari_app.vcta import Topology, parse_topology

_COMMON = """
[policy]
default_unit = "alpha"
backup_unit = "national"
last_resort_after = 3600
skip_failed_position_for = 600

[announcements]
welcome = "sound:hello-world"
reminder = "sound:queue-thankyou"
reminder_every = 20
music_on_hold = "default"
"""

# alpha: one position, saturated as soon as one call waits; beta (rank 1) and gamma (rank 2)
# are its neighbours; national is the backup unit.
THREE_CENTRES = (
    _COMMON
    + """
[centres.alpha]
name = "Alpha"
department = "77"
routing_keys = ["18", "112"]
positions = ["PJSIP/alpha-op1", "PJSIP/alpha-op2"]
max_queue = 1
max_wait = 3600
reserve = 0
overflow_cap = 5
neighbours = [["beta"], ["gamma"]]

[centres.beta]
name = "Beta"
department = "91"
positions = ["PJSIP/beta-op1", "PJSIP/beta-op2"]
max_queue = 1
max_wait = 3600
reserve = 0
overflow_cap = 5
neighbours = [["alpha"]]

[centres.gamma]
name = "Gamma"
department = "45"
positions = ["PJSIP/gamma-op1"]
max_queue = 1
max_wait = 3600
reserve = 0
overflow_cap = 5
neighbours = [["alpha"]]

[centres.national]
name = "National"
positions = ["PJSIP/national-op1"]
max_queue = 5
max_wait = 3600
reserve = 0
overflow_cap = 10
"""
)

POOLED_AT_NIGHT = (
    THREE_CENTRES
    + """
[virtual_ctas.night]
name = "Alpha and Beta at night"
members = ["alpha", "beta"]
active = true
max_queue = 2
max_wait = 3600
reserve = 0
overflow_cap = 5
"""
)


def three_centres(last_resort_after: int = 3600) -> Topology:
    text = THREE_CENTRES.replace(
        "last_resort_after = 3600", f"last_resort_after = {last_resort_after}"
    )
    return parse_topology(text, "three-centres")


def pooled_at_night() -> Topology:
    return parse_topology(POOLED_AT_NIGHT, "pooled-at-night")
