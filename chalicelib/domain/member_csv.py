"""Teams and members as CSV: one row per member (a team without members: one row without them).

Columns (the header row names them, in any order; unknown columns are refused, so a misspelt
``phnoe`` never drops a number silently):

``team_id, team_name, state, district, member_id, name, role, languages, channels, phone,
email, contact_consent``

``languages`` and ``channels`` list values separated by ``|`` (``hi|en``, ``push|sms``);
``contact_consent`` is ``yes``/``no`` (also ``true``/``false``, ``1``/``0``, empty for no).
Parsing is pure and checks what one row (or the file) can tell: the fields the API checks per
member are checked by the API's own model, and scope, roles and consent rules by the use case.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.states import is_state
from chalicelib.errors import (
    FieldProblem,
    InvalidInputError,
    MalformedInputError,
    PayloadTooLargeError,
)

TEAM_COLUMNS = ("team_id", "team_name", "state", "district")
MEMBER_COLUMNS = (
    "member_id",
    "name",
    "role",
    "languages",
    "channels",
    "phone",
    "email",
    "contact_consent",
)
COLUMNS = TEAM_COLUMNS + MEMBER_COLUMNS
REQUIRED = ("team_id", "state")
MAX_ROWS = 10_000
MAX_BYTES = 4 * 1024 * 1024
_YES = {"yes", "true", "1", "y", "हाँ", "हां"}
_NO = {"no", "false", "0", "n", "", "नहीं"}


@dataclass
class CsvRow:
    """One data row: ``line`` is its line number in the file (the header is line 1)."""

    line: int
    team: dict[str, Any]
    member: dict[str, Any] | None
    problems: list[FieldProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split("|") if v.strip()]


def decode(raw: bytes) -> str:
    """The CSV text of a body: UTF-8 (a byte-order mark is dropped); 400 otherwise."""
    if len(raw) > MAX_BYTES:
        raise PayloadTooLargeError(
            f"the CSV is larger than {MAX_BYTES // (1024 * 1024)} MiB; split it",
            [FieldProblem("body", f"at most {MAX_BYTES} bytes")],
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise MalformedInputError(
            "the CSV is not UTF-8 text",
            [FieldProblem("body", f"not UTF-8 at byte {err.start}")],
        ) from None


def parse(text: str) -> list[CsvRow]:
    """The rows of a members CSV, each with the problems it shows by itself.

    The file's own problems (no header, unknown or missing columns, too many rows, no rows) are
    an InvalidInputError: nothing in such a file is looked at further.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as err:
        raise InvalidInputError(
            "the CSV header does not parse", [FieldProblem("line 1", str(err))]
        ) from None
    if not header or not any(h.strip() for h in header):
        raise InvalidInputError(
            "the CSV is empty: the first line names the columns",
            [FieldProblem("header", f"columns: {', '.join(COLUMNS)}")],
        )
    names = [h.strip().lower() for h in header]
    problems = [
        FieldProblem(f"header.{n or i + 1}", "not a column of this import")
        for i, n in enumerate(names)
        if n not in COLUMNS
    ]
    problems += [FieldProblem(f"header.{c}", "required column") for c in REQUIRED if c not in names]
    problems += [
        FieldProblem(f"header.{n}", "named twice") for i, n in enumerate(names) if n in names[:i]
    ]
    if problems:
        raise InvalidInputError("the CSV's columns are not the import's", problems)
    rows: list[CsvRow] = []
    seen_members: dict[str, int] = {}
    teams: dict[str, tuple[int, dict[str, Any]]] = {}
    try:
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue  # blank lines, trailing newlines of spreadsheets
            if len(rows) >= MAX_ROWS:
                raise InvalidInputError(
                    f"the CSV has more than {MAX_ROWS} rows; split it",
                    [FieldProblem(f"line {line}", f"at most {MAX_ROWS} rows")],
                )
            rows.append(_row(line, names, values, seen_members, teams))
    except csv.Error as err:
        raise InvalidInputError(
            "the CSV does not parse", [FieldProblem(f"line {reader.line_num}", str(err))]
        ) from None
    if not rows:
        raise InvalidInputError("the CSV has no rows", [FieldProblem("body", "no data rows")])
    return rows


def _row(
    line: int,
    names: list[str],
    values: list[str],
    seen_members: dict[str, int],
    teams: dict[str, tuple[int, dict[str, Any]]],
) -> CsvRow:
    problems: list[FieldProblem] = []
    if len(values) != len(names):
        problems.append(FieldProblem("row", f"{len(values)} values for {len(names)} columns"))
    cell = {n: (values[i].strip() if i < len(values) else "") for i, n in enumerate(names)}
    team: dict[str, Any] = {"id": cell.get("team_id", ""), "state": cell.get("state", "").upper()}
    if "team_name" in cell:
        team["name"] = cell["team_name"]
    if "district" in cell:
        team["district"] = cell["district"]
    if not team["id"]:
        problems.append(FieldProblem("team_id", "required"))
    if not is_state(team["state"]):
        problems.append(FieldProblem("state", "not a state or UT code"))
    first = teams.get(team["id"])
    if first is None:
        teams[team["id"]] = (line, team)
    else:
        for key, column in (("name", "team_name"), ("state", "state"), ("district", "district")):
            if key in team and key in first[1] and team[key] != first[1][key]:
                problems.append(
                    FieldProblem(column, f"differs from line {first[0]} of the same team")
                )
    member: dict[str, Any] | None = None
    if cell.get("member_id") or cell.get("name"):
        member = {"id": cell.get("member_id", ""), "name": cell.get("name", "")}
        # A column in the file names the field whole (empty: the default); a column not in
        # the file leaves the stored value alone.
        if "role" in cell:
            member["role"] = cell["role"] or "warrior"
        if "languages" in cell:
            member["languages"] = _split(cell["languages"])
        if "channels" in cell:
            member["channels"] = _split(cell["channels"]) or ["push"]
        for key in ("phone", "email"):
            if key in cell:
                member[key] = cell[key]
        consent = cell.get("contact_consent", "").lower()
        if consent in _YES:
            member["contact_consent"] = True
        elif consent not in _NO:
            problems.append(FieldProblem("contact_consent", "yes or no"))
        elif "contact_consent" in cell:
            member["contact_consent"] = False
        earlier = seen_members.get(member["id"])
        if member["id"] and earlier is not None:
            problems.append(FieldProblem("member_id", f"also on line {earlier}"))
        elif member["id"]:
            seen_members[member["id"]] = line
    return CsvRow(line, team, member, problems)


def export(teams: Iterable[Mapping[str, Any]]) -> str:
    """Teams and their members as CSV, in the import's columns: importing it changes nothing.

    Phone and e-mail are in it as ``GET /teams/{id}`` shows them to the same caller: a row
    names a member whole, so an export without them would erase them when imported back.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for team in teams:
        head = [team["id"], team.get("name", ""), team["state"], team.get("district", "")]
        members = list(team.get("members", []))
        if not members:
            writer.writerow(head + [""] * len(MEMBER_COLUMNS))
        for m in members:
            consent = bool(m.get("contact_consent"))
            writer.writerow(
                [
                    *head,
                    m["id"],
                    m.get("name", ""),
                    m.get("role", "warrior"),
                    "|".join(m.get("languages", [])),
                    "|".join(m.get("channels", ["push"])),
                    m.get("phone", ""),
                    m.get("email", ""),
                    "yes" if consent else "no",
                ]
            )
    return out.getvalue()
