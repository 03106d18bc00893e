"""Duty officers' commands over the API: ``status``, ``mutual-aid``, ``divert``, ``crisis``,
``virtual-cta``, ``pause``, ``resume``, ``pick``, ``callbacks``, ``changes``.

They use ARI_APP_API_URL and ARI_APP_API_TOKEN. Readable tables by default, ``--json`` for
scripts (the API's answer as it is). Any error is one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

from ari_app.api.client import ApiClient, ApiClientError
from ari_app.cli.store_commands import table
from ari_app.settings import load_settings
from ari_app.store.callbacks import CallbackOutcome

Command = Callable[[ApiClient, argparse.Namespace], Any]


CENTRE_HELP = "a centre id (sdis77), as 'status' lists them"
POSITION_HELP = "a position id (sdis77-op3), as 'status UNIT' lists them"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = _command(
        subparsers,
        "status",
        "where every unit stands (or one unit: positions, waiting calls)",
        _status,
    )
    status.add_argument("unit", nargs="?", metavar="UNIT", help="a centre or virtual CTA id")

    aid = _command(subparsers, "mutual-aid", "switch a centre's mutual aid", _mutual_aid)
    aid.add_argument("centre", metavar="CENTRE", help=CENTRE_HELP)
    aid.add_argument("--out", choices=("on", "off"), help="its calls may go to neighbours")
    aid.add_argument("--in", dest="in_", choices=("on", "off"), help="it takes neighbours' calls")
    _reason(aid, required=True)

    divert = _command(
        subparsers, "divert", "send a centre's new calls to another centre, or stop", _divert
    )
    divert.add_argument("centre", metavar="CENTRE", help="the centre whose calls go elsewhere")
    target = divert.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", metavar="CENTRE", help="the centre that takes the calls")
    target.add_argument("--off", action="store_true", help="end the diversion")
    _reason(divert, required=True)

    crisis = _command(
        subparsers, "crisis", "set or clear the message a centre's waiting callers hear", _crisis
    )
    crisis.add_argument("centre", metavar="CENTRE", help=CENTRE_HELP)
    message = crisis.add_mutually_exclusive_group(required=True)
    message.add_argument("--message", metavar="SOUND", help="e.g. sound:crisis/flood")
    message.add_argument("--off", action="store_true", help="clear the message")
    _reason(crisis, required=True)

    vcta = _command(subparsers, "virtual-cta", "activate or deactivate a virtual CTA", _vcta)
    vcta.add_argument("vcta", metavar="VCTA", help="a virtual CTA id, as 'status' lists them")
    vcta.add_argument("state", choices=("on", "off"), help="on pools its centres' calls")
    _reason(vcta, required=True)

    for name, paused in (("pause", True), ("resume", False)):
        what = "stop offering calls to a position" if paused else "offer calls to a paused position"
        command = _command(subparsers, name, what, _pause if paused else _resume)
        command.add_argument("position", metavar="POSITION", help=POSITION_HELP)
        _reason(command, required=False)

    pick = _command(subparsers, "pick", "ring a position for a call waiting at its unit", _pick)
    pick.add_argument("position", metavar="POSITION", help="the position that takes the call")
    pick.add_argument("call", metavar="CALL", help="a call id, as 'status UNIT' lists them")

    callbacks = _command(
        subparsers, "callbacks", "abandoned callers to call back; --done marks one", _callbacks
    )
    callbacks.add_argument("--all", action="store_true", help="also those already done")
    callbacks.add_argument("--centre", metavar="CENTRE", help="only this home centre's callers")
    callbacks.add_argument("--done", metavar="CALL", help="mark this call's callback done")
    callbacks.add_argument(
        "--outcome", choices=[o.value for o in CallbackOutcome], help="with --done"
    )
    callbacks.add_argument("--note", help="with --done: a note kept with it")

    changes = _command(subparsers, "changes", "recent duty-officer changes (audit)", _changes)
    changes.add_argument("--unit", metavar="UNIT", help="only this unit's changes")
    changes.add_argument("--limit", type=int, default=20, help="how many (default 20)")


def _command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help_text: str,
    command: Command,
) -> argparse.ArgumentParser:
    description = (
        f"{help_text[:1].upper()}{help_text[1:]}, through the API "
        "(ARI_APP_API_URL, ARI_APP_API_TOKEN)."
    )
    parser = subparsers.add_parser(name, help=help_text, description=description)
    parser.add_argument("--json", action="store_true", help="print the API's answer as JSON")
    parser.set_defaults(handler=lambda args: run(command, args))
    return parser


def _reason(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "--reason", required=required, help="why: kept in the audit trail with your token's name"
    )


def run(command: Command, args: argparse.Namespace) -> int:
    """Run ``command`` with a client from the settings; one line on stderr when it fails."""
    settings = load_settings()
    token = settings.api_token.get_secret_value()
    if not token:
        return _fail("no API token: set ARI_APP_API_TOKEN (issue one with 'ari-app token create')")
    client = ApiClient(str(settings.api_url), token)
    try:
        answer = command(client, args)
    except ApiClientError as error:
        return _fail(_in_cli_words(error, args))
    except ValueError as error:
        return _fail(str(error))
    if args.json:
        print(json.dumps(answer, indent=2, ensure_ascii=False))
    return 0


def _in_cli_words(error: ApiClientError, args: argparse.Namespace) -> str:
    """The API's refusal with its field names (``query.limit``) said as this command's
    options (``--limit``), which is what the officer typed."""
    if error.error_id != "invalid_request" or not error.details:
        return str(error)
    options = vars(args)
    said = []
    for location, message in error.details:
        name = location.rpartition(".")[2]
        where = f"--{name.replace('_', '-')}" if name in options else location
        said.append(f"{where} {message}")
    return "; ".join(said)


def _fail(message: str) -> int:
    print(f"ari-app: {message}", file=sys.stderr)
    return 1


def _show(args: argparse.Namespace, text: str) -> None:
    if not args.json:
        print(text)


# -- reading -------------------------------------------------------------------------------


def _status(client: ApiClient, args: argparse.Namespace) -> Any:
    if args.unit:
        unit = client.get(f"/units/{_segment(args.unit)}")
        positions = client.get("/positions", {"unit": args.unit})["positions"]
        waiting = client.get(f"/units/{_segment(args.unit)}/waiting-calls")["calls"]
        _show(args, _unit_detail(unit, positions, waiting))
        return {"unit": unit, "positions": positions, "waiting_calls": waiting}
    units = client.get("/units")
    _show(args, _units_table(units["units"]))
    return units


def _units_table(units: Sequence[dict[str, Any]]) -> str:
    rows = [
        [
            u["id"],
            _state(u),
            f"{u['queue_length']}/{u['max_queue']}",
            _seconds(u["oldest_wait_s"]),
            str(u["free_positions"]),
            str(u["busy_positions"]),
            f"{u['overflow_held']}/{u['overflow_cap']}",
            _modes(u),
        ]
        for u in units
    ]
    text = table(["UNIT", "STATE", "QUEUE", "OLDEST", "FREE", "BUSY", "OVERFLOW", "MODES"], rows)
    notes = [f"{u['id']} saturated: {u['saturation_reason']}" for u in units if u["saturated"]]
    return "\n".join([text, *notes])


def _state(unit: dict[str, Any]) -> str:
    """NENA's queue state, except where its ``Disabled`` would read like an outage: a centre
    pooled in a virtual CTA or diverted, a virtual CTA switched off, is said as such."""
    nena: str = unit["queue_state"]["queueState"]
    if nena != "Disabled":
        return nena
    if unit["kind"] != "centre":
        return "Off"
    (modes,) = unit["modes"]
    if modes["diverted_to"]:
        return "Diverted"
    if unit["served_by"] and unit["served_by"] != unit["id"]:
        return "Pooled"
    return nena


def _modes(unit: dict[str, Any]) -> str:
    if unit["kind"] != "centre":
        members = ", ".join(unit["members"])
        return f"pools {members}" if unit["in_service"] else f"inactive ({members})"
    (modes,) = unit["modes"]
    parts = [
        f"out:{_on(modes['outgoing_mutual_aid'])}",
        f"in:{_on(modes['incoming_mutual_aid'])}",
    ]
    if modes["diverted_to"]:
        parts.append(f"diverted to {modes['diverted_to']}")
    if modes["crisis_message"]:
        parts.append(f"crisis {modes['crisis_message']}")
    if not unit["in_service"] and unit["served_by"]:
        parts.append(f"served by {unit['served_by']}")
    return " ".join(parts)


def _unit_detail(
    unit: dict[str, Any], positions: Sequence[dict[str, Any]], waiting: Sequence[dict[str, Any]]
) -> str:
    lines = [_units_table([unit]), ""]
    lines.append(
        table(
            ["POSITION", "STATUS", "IDLE", "CALL"],
            [
                [p["id"], p["status"], _seconds(p["idle_for_s"]), p["call_id"] or ""]
                for p in positions
            ],
        )
    )
    lines.append("")
    if waiting:
        lines.append(
            table(
                ["CALL", "HOME", "WAITED", "HOPS", "KEY"],
                [
                    [
                        c["call_id"],
                        c["home_centre"],
                        _seconds(c["waited_s"]),
                        str(c["hops"]),
                        c["routing_key"],
                    ]
                    for c in waiting
                ],
            )
        )
    else:
        lines.append("no call waiting")
    return "\n".join(lines)


def _callbacks(client: ApiClient, args: argparse.Namespace) -> Any:
    if args.done:
        if not args.outcome:
            raise ValueError(
                "--done needs --outcome: " + ", ".join(o.value for o in CallbackOutcome)
            )
        body: dict[str, Any] = {"outcome": args.outcome}
        if args.note:
            body["note"] = args.note
        done = client.post(f"/callbacks/{_segment(args.done)}/done", body)
        _show(
            args,
            f"callback of {done['call_id']} done: {done['done_outcome']} (by {done['done_by']})",
        )
        return done
    if args.outcome or args.note:
        raise ValueError("--outcome and --note go with --done CALL")
    listed = client.get("/callbacks", {"pending": not args.all, "centre": args.centre})
    callbacks = listed["callbacks"]
    if not callbacks:
        _show(args, "nobody to call back")
        return listed
    rows = [
        [
            c["call_id"],
            c["caller"] or "(withheld)",
            c["home_centre"] or "?",
            _clock(c["arrived_at"]),
            _clock(c["hung_up_at"]),
            _seconds(c["waited_s"]),
            f"{c['done_outcome']} by {c['done_by']}" if c["done"] else "to call back",
        ]
        for c in callbacks
    ]
    _show(
        args,
        table(["CALL", "CALLER", "HOME", "ARRIVED", "HUNG UP", "WAITED", "STATE"], rows),
    )
    return listed


def _changes(client: ApiClient, args: argparse.Namespace) -> Any:
    listed = client.get("/mode-changes", {"unit": args.unit, "limit": args.limit})
    changes = listed["changes"]
    if not changes:
        _show(args, "no change recorded")
        return listed
    rows = [
        [
            _clock(c["at"]),
            c["actor"],
            c["position"] or c["unit"],
            c["what"],
            _values(c["before"]),
            _values(c["after"]),
            c["reason"] or "",
        ]
        for c in changes
    ]
    _show(args, table(["AT", "BY", "WHAT OF", "CHANGED", "BEFORE", "AFTER", "REASON"], rows))
    return listed


# -- changing ------------------------------------------------------------------------------


def _mutual_aid(client: ApiClient, args: argparse.Namespace) -> Any:
    if args.out is None and args.in_ is None:
        raise ValueError("say what to switch: --out on|off, --in on|off, or both")
    body: dict[str, Any] = {"reason": args.reason}
    if args.out is not None:
        body["outgoing"] = args.out == "on"
    if args.in_ is not None:
        body["incoming"] = args.in_ == "on"
    return _changed(args, client.put(f"/centres/{_segment(args.centre)}/mutual-aid", body))


def _divert(client: ApiClient, args: argparse.Namespace) -> Any:
    body = {"to": None if args.off else args.to, "reason": args.reason}
    return _changed(args, client.put(f"/centres/{_segment(args.centre)}/diversion", body))


def _crisis(client: ApiClient, args: argparse.Namespace) -> Any:
    body = {"message": None if args.off else args.message, "reason": args.reason}
    return _changed(args, client.put(f"/centres/{_segment(args.centre)}/crisis-message", body))


def _vcta(client: ApiClient, args: argparse.Namespace) -> Any:
    body = {"active": args.state == "on", "reason": args.reason}
    return _changed(args, client.put(f"/virtual-ctas/{_segment(args.vcta)}/active", body))


def _pause(client: ApiClient, args: argparse.Namespace) -> Any:
    body = {"reason": args.reason} if args.reason else {}
    return _changed(args, client.post(f"/positions/{_segment(args.position)}/pause", body))


def _resume(client: ApiClient, args: argparse.Namespace) -> Any:
    body = {"reason": args.reason} if args.reason else {}
    return _changed(args, client.post(f"/positions/{_segment(args.position)}/resume", body))


def _pick(client: ApiClient, args: argparse.Namespace) -> Any:
    answer = client.post(f"/positions/{_segment(args.position)}/pick", {"call_id": args.call})
    _show(args, answer["decision"])
    return answer


def _changed(args: argparse.Namespace, answer: dict[str, Any]) -> Any:
    prefix = "" if answer["changed"] else "no change: "
    _show(args, f"{prefix}{answer['decision']}")
    return answer


# -- formatting ----------------------------------------------------------------------------


def _segment(value: str) -> str:
    """``value`` as one path segment (an id with a slash cannot reach another route)."""
    return quote(value, safe="")


def _on(value: bool) -> str:
    return "on" if value else "off"


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def _clock(iso: str) -> str:
    """``2026-11-29T10:00:00.123+00:00`` as ``2026-11-29 10:00:00``."""
    return iso.replace("T", " ")[:19]


def _values(values: dict[str, Any] | None) -> str:
    if values is None:
        return "-"
    shown = {k: _value(v) for k, v in values.items()}
    if len(shown) == 1:
        return next(iter(shown.values()))
    return ", ".join(f"{k}={v}" for k, v in shown.items())


def _value(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return _on(value)
    return str(value)
