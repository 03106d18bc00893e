"""Write ari_app/examples/national.toml: the 96 departments of metropolitan France.

    python bench/make_national.py            # rewrite the file
    python bench/make_national.py --check    # exit 1 if the file is not what this script writes

Neighbours are the departments' land borders (source: the official geographic code's map of
departments, IGN ADMIN EXPRESS, read by hand; each pair is listed on both sides and checked
symmetric below). Deliberate links that are not land borders: Corsica reaches the mainland by
sea, Corse-du-Sud (2A) with Bouches-du-Rhône (13) and Haute-Corse (2B) with Alpes-Maritimes
(06), so that mutual aid can reach the island.

Paris and the inner suburbs (75, 92, 93, 94) are one centre, the Brigade de sapeurs-pompiers de
Paris (BSPP), as in reality; its neighbours are the four departments' other neighbours.

Positions are scaled to population (2021 census, thousands, rounded): one per 33,000
inhabitants, at least four; about 2000 in all. Limits follow the size of the centre.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# code: (name, population in thousands, land neighbours)
DEPARTMENTS: dict[str, tuple[str, int, tuple[str, ...]]] = {
    "01": ("Ain", 660, ("38", "39", "69", "71", "73", "74")),
    "02": ("Aisne", 525, ("08", "51", "59", "60", "77", "80")),
    "03": ("Allier", 335, ("18", "23", "42", "58", "63", "71")),
    "04": ("Alpes-de-Haute-Provence", 165, ("05", "06", "13", "26", "83", "84")),
    "05": ("Hautes-Alpes", 141, ("04", "26", "38", "73")),
    "06": ("Alpes-Maritimes", 1100, ("04", "83")),
    "07": ("Ardèche", 330, ("26", "30", "38", "42", "43", "48", "84")),
    "08": ("Ardennes", 270, ("02", "51", "55")),
    "09": ("Ariège", 155, ("11", "31", "66")),
    "10": ("Aube", 310, ("21", "51", "52", "77", "89")),
    "11": ("Aude", 375, ("09", "31", "34", "66", "81")),
    "12": ("Aveyron", 280, ("15", "30", "34", "46", "48", "81", "82")),
    "13": ("Bouches-du-Rhône", 2050, ("04", "30", "83", "84")),
    "14": ("Calvados", 700, ("27", "50", "61")),
    "15": ("Cantal", 144, ("12", "19", "43", "46", "48", "63")),
    "16": ("Charente", 350, ("17", "24", "79", "86", "87")),
    "17": ("Charente-Maritime", 660, ("16", "24", "33", "79", "85")),
    "18": ("Cher", 300, ("03", "23", "36", "41", "45", "58")),
    "19": ("Corrèze", 240, ("15", "23", "24", "46", "63", "87")),
    "2A": ("Corse-du-Sud", 160, ("2B",)),
    "2B": ("Haute-Corse", 185, ("2A",)),
    "21": ("Côte-d'Or", 535, ("10", "39", "52", "58", "70", "71", "89")),
    "22": ("Côtes-d'Armor", 605, ("29", "35", "56")),
    "23": ("Creuse", 115, ("03", "18", "19", "36", "63", "87")),
    "24": ("Dordogne", 415, ("16", "17", "19", "33", "46", "47", "87")),
    "25": ("Doubs", 545, ("39", "70", "90")),
    "26": ("Drôme", 520, ("04", "05", "07", "38", "84")),
    "27": ("Eure", 600, ("14", "28", "60", "61", "76", "78", "95")),
    "28": ("Eure-et-Loir", 430, ("27", "41", "45", "61", "72", "78", "91")),
    "29": ("Finistère", 920, ("22", "56")),
    "30": ("Gard", 750, ("07", "12", "13", "34", "48", "84")),
    "31": ("Haute-Garonne", 1420, ("09", "11", "32", "65", "81", "82")),
    "32": ("Gers", 192, ("31", "40", "47", "64", "65", "82")),
    "33": ("Gironde", 1650, ("17", "24", "40", "47")),
    "34": ("Hérault", 1200, ("11", "12", "30", "81")),
    "35": ("Ille-et-Vilaine", 1100, ("22", "44", "49", "50", "53", "56")),
    "36": ("Indre", 218, ("18", "23", "37", "41", "86", "87")),
    "37": ("Indre-et-Loire", 610, ("36", "41", "49", "72", "86")),
    "38": ("Isère", 1280, ("01", "05", "07", "26", "42", "69", "73")),
    "39": ("Jura", 258, ("01", "21", "25", "70", "71")),
    "40": ("Landes", 420, ("32", "33", "47", "64")),
    "41": ("Loir-et-Cher", 330, ("18", "28", "36", "37", "45", "72")),
    "42": ("Loire", 765, ("03", "07", "38", "43", "63", "69", "71")),
    "43": ("Haute-Loire", 227, ("07", "15", "42", "48", "63")),
    "44": ("Loire-Atlantique", 1450, ("35", "49", "56", "85")),
    "45": ("Loiret", 680, ("18", "28", "41", "58", "77", "89", "91")),
    "46": ("Lot", 174, ("12", "15", "19", "24", "47", "82")),
    "47": ("Lot-et-Garonne", 330, ("24", "32", "33", "40", "46", "82")),
    "48": ("Lozère", 76, ("07", "12", "15", "30", "43")),
    "49": ("Maine-et-Loire", 820, ("35", "37", "44", "53", "72", "79", "85", "86")),
    "50": ("Manche", 495, ("14", "35", "53", "61")),
    "51": ("Marne", 565, ("02", "08", "10", "52", "55", "77")),
    "52": ("Haute-Marne", 172, ("10", "21", "51", "55", "70", "88")),
    "53": ("Mayenne", 307, ("35", "49", "50", "61", "72")),
    "54": ("Meurthe-et-Moselle", 730, ("55", "57", "67", "88")),
    "55": ("Meuse", 183, ("08", "51", "52", "54", "88")),
    "56": ("Morbihan", 760, ("22", "29", "35", "44")),
    "57": ("Moselle", 1045, ("54", "67")),
    "58": ("Nièvre", 202, ("03", "18", "21", "45", "71", "89")),
    "59": ("Nord", 2610, ("02", "62", "80")),
    "60": ("Oise", 830, ("02", "27", "76", "77", "80", "95")),
    "61": ("Orne", 280, ("14", "27", "28", "50", "53", "72")),
    "62": ("Pas-de-Calais", 1460, ("59", "80")),
    "63": ("Puy-de-Dôme", 665, ("03", "15", "19", "23", "42", "43")),
    "64": ("Pyrénées-Atlantiques", 690, ("32", "40", "65")),
    "65": ("Hautes-Pyrénées", 230, ("31", "32", "64")),
    "66": ("Pyrénées-Orientales", 480, ("09", "11")),
    "67": ("Bas-Rhin", 1150, ("54", "57", "68", "88")),
    "68": ("Haut-Rhin", 765, ("67", "88", "90")),
    "69": ("Rhône", 1880, ("01", "38", "42", "71")),
    "70": ("Haute-Saône", 235, ("21", "25", "39", "52", "88", "90")),
    "71": ("Saône-et-Loire", 550, ("01", "03", "21", "39", "42", "58", "69")),
    "72": ("Sarthe", 565, ("28", "37", "41", "49", "53", "61")),
    "73": ("Savoie", 440, ("01", "05", "38", "74")),
    "74": ("Haute-Savoie", 830, ("01", "73")),
    "75": ("Paris", 2130, ("92", "93", "94")),
    "76": ("Seine-Maritime", 1255, ("27", "60", "80")),
    "77": ("Seine-et-Marne", 1420, ("02", "10", "45", "51", "60", "89", "91", "93", "94", "95")),
    "78": ("Yvelines", 1450, ("27", "28", "91", "92", "95")),
    "79": ("Deux-Sèvres", 375, ("16", "17", "49", "85", "86")),
    "80": ("Somme", 570, ("02", "59", "60", "62", "76")),
    "81": ("Tarn", 390, ("11", "12", "31", "34", "82")),
    "82": ("Tarn-et-Garonne", 260, ("12", "31", "32", "46", "47", "81")),
    "83": ("Var", 1090, ("04", "06", "13", "84")),
    "84": ("Vaucluse", 560, ("04", "07", "13", "26", "30", "83")),
    "85": ("Vendée", 690, ("17", "44", "49", "79")),
    "86": ("Vienne", 440, ("16", "36", "37", "49", "79", "87")),
    "87": ("Haute-Vienne", 372, ("16", "19", "23", "24", "36", "86")),
    "88": ("Vosges", 362, ("52", "54", "55", "67", "68", "70", "90")),
    "89": ("Yonne", 335, ("10", "21", "45", "58", "77")),
    "90": ("Territoire de Belfort", 141, ("25", "68", "70", "88")),
    "91": ("Essonne", 1300, ("28", "45", "77", "78", "92", "94")),
    "92": ("Hauts-de-Seine", 1620, ("75", "78", "91", "93", "94", "95")),
    "93": ("Seine-Saint-Denis", 1660, ("75", "77", "92", "94", "95")),
    "94": ("Val-de-Marne", 1410, ("75", "77", "91", "92", "93")),
    "95": ("Val-d'Oise", 1250, ("27", "60", "77", "78", "92", "93")),
}

# Links that are not land borders, kept on purpose (see the module docstring).
SEA_LINKS: tuple[tuple[str, str], ...] = (("2A", "13"), ("2B", "06"))

BSPP_DEPARTMENTS = ("75", "92", "93", "94")
INHABITANTS_PER_POSITION = 33.0  # thousands
MIN_POSITIONS = 4
BACKUP_ID = "secours-national"
BACKUP_POSITIONS = 24
OUTPUT = Path(__file__).resolve().parent.parent / "ari_app" / "examples" / "national.toml"


def land_borders() -> dict[str, set[str]]:
    """Department -> neighbours, with the sea links, checked symmetric."""
    borders = {code: set(info[2]) for code, info in DEPARTMENTS.items()}
    for a, b in SEA_LINKS:
        borders[a].add(b)
        borders[b].add(a)
    for code, neighbours in borders.items():
        for other in neighbours:
            if code not in borders[other]:
                raise SystemExit(f"border {code}-{other} is listed on one side only")
    return borders


def centre_id(department: str) -> str:
    return "bspp" if department in BSPP_DEPARTMENTS else f"sdis{department.lower()}"


def _quoted(items: list[str] | list[object]) -> str:
    return ", ".join(f'"{item}"' for item in items)


def _array(key: str, items: list[str], per_line: int = 4) -> list[str]:
    if len(items) <= per_line:
        return [f"{key} = [{_quoted(items)}]"]
    rows = [items[i : i + per_line] for i in range(0, len(items), per_line)]
    return [f"{key} = [", *(f"    {_quoted(row)}," for row in rows), "]"]


def _endpoints(prefix: str, count: int) -> list[str]:
    return [f"PJSIP/{prefix}-op{i}" for i in range(1, count + 1)]


def render() -> str:
    borders = land_borders()
    centres: dict[str, dict[str, object]] = {}
    for code, (name, population, _) in DEPARTMENTS.items():
        cid = centre_id(code)
        entry = centres.setdefault(
            cid, {"departments": [], "population": 0, "name": f"CTA-CODIS {name} ({code})"}
        )
        departments = entry["departments"]
        assert isinstance(departments, list)
        departments.append(code)
        entry["population"] = int(str(entry["population"])) + population
    centres["bspp"]["name"] = "Brigade de sapeurs-pompiers de Paris (75, 92, 93, 94)"

    lines = [
        "# The 96 departments of metropolitan France, for national-scale simulation and",
        "# benchmarks. Written by bench/make_national.py (neighbours, sources and scaling rules",
        "# are explained there); do not edit by hand: change the script and run it again.",
        "",
        "[policy]",
        f'default_unit = "{BACKUP_ID}"',
        f'backup_unit = "{BACKUP_ID}"',
        "last_resort_after = 120",
        "skip_failed_position_for = 30",
        "",
        "[announcements]",
        'welcome = "sound:queue-periodic-announce"',
        'reminder = "sound:queue-thankyou"',
        "reminder_every = 30",
        'music_on_hold = "default"',
    ]
    total = 0
    for cid, entry in centres.items():
        departments = entry["departments"]
        assert isinstance(departments, list)
        population = int(str(entry["population"]))
        count = max(MIN_POSITIONS, round(population / INHABITANTS_PER_POSITION))
        total += count
        neighbour_ids = sorted({centre_id(n) for d in departments for n in borders[d]} - {cid})
        lines += [
            "",
            f"[centres.{cid}]",
            f'name = "{entry["name"]}"',
            f'department = "{departments[0]}"',
        ]
        if len(departments) > 1:
            lines.append(f"routing_keys = [{_quoted(departments[1:])}]")
        lines += [
            *_array("positions", _endpoints(cid, count)),
            f"max_queue = {max(3, count // 2)}",
            "max_wait = 30",
            f"reserve = {max(1, count // 10)}",
            f"overflow_cap = {max(2, count // 4)}",
            f"neighbours = [[{_quoted(neighbour_ids)}]]",
        ]
    total += BACKUP_POSITIONS
    lines += [
        "",
        f"[centres.{BACKUP_ID}]",
        'name = "Plateforme nationale de délestage"',
        *_array("positions", _endpoints("national", BACKUP_POSITIONS)),
        "max_queue = 24",
        "max_wait = 60",
        "reserve = 0",
        "overflow_cap = 100",
        "",
        "# Two small neighbouring departments pooled at night.",
        "[virtual_ctas.vcta-15-48]",
        'name = "CTA commun Cantal-Lozère (nuit)"',
        'members = ["sdis15", "sdis48"]',
        "active = true",
        "",
        f"# {len(centres) + 1} centres, {total} positions.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    text = render()
    if args.check:
        if OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT} is out of date: run python bench/make_national.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
