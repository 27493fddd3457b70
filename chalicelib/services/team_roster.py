"""Teams and members at party scale: search, CSV import (report first, then apply) and export.

Every write goes through :class:`ConfigAdmin` (its scope checks, contact consent, role ranks
and audit record); this module plans which writes to make. An import names members whole
(the file is the truth for the members it lists: an empty phone cell removes the phone);
members it does not list stay as they are, and nothing is deleted. Applying the same file again
finds every team as the file wants it and writes nothing. Applying a file with bad rows writes
the good ones: a bad row never reaches the store, and its line is reported with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.access import (
    Principal,
    Scope,
    Verb,
    authorize,
    check_member_changes,
    may,
)
from chalicelib.domain.config_kinds import TEAMS
from chalicelib.domain.contacts import check_contacts
from chalicelib.domain.member_csv import MEMBER_COLUMNS, CsvRow
from chalicelib.domain.org import team_from_dict
from chalicelib.domain.pagination import MAX_LIMIT, encode_cursor
from chalicelib.errors import (
    FieldProblem,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)
from chalicelib.services.config_admin import ConfigAdmin
from chalicelib.services.config_cache import team_record
from chalicelib.services.ports import ConfigRecord

MAX_MEMBERS = 50  # as the API's team body (schemas.TeamIn)
MEMBER_FIELDS = ("id", "name", "role", "languages", "channels", "phone", "email", "contact_consent")
SEARCH_PAGES = 20  # store pages of 100 teams one search request reads at most

# Wire names of a member's fields -> the CSV column that carried them.
_COLUMN = {"id": "member_id", "name": "name", **{c: c for c in MEMBER_COLUMNS}}


@dataclass(frozen=True)
class RowReport:
    line: int
    team_id: str
    member_id: str
    problems: tuple[FieldProblem, ...]


@dataclass
class ImportReport:
    rows: int
    invalid: list[RowReport] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    applied: bool = False

    @property
    def valid(self) -> int:
        return self.rows - len(self.invalid)


def _matches(data: dict[str, Any], needle: str) -> bool:
    hay = [data.get("id", ""), data.get("name", ""), data.get("district", "")]
    for m in data.get("members", []):
        hay += [m.get("id", ""), m.get("name", "")]
    return any(needle in str(h).casefold() for h in hay)


def search_teams(
    admin: ConfigAdmin,
    p: Principal,
    state: str | None,
    q: str,
    limit: int,
    cursor: str | None,
) -> tuple[list[ConfigRecord], str | None]:
    """Teams in scope whose id, name, district or a member's id or name contains ``q``.

    Pages like ``GET /teams``: the cursor is a position in id order, so a search of 5,000
    teams goes on where it stopped; one request reads at most ``SEARCH_PAGES`` store pages
    and may answer short with a cursor.
    """
    needle = q.strip().casefold()
    out: list[ConfigRecord] = []
    for _ in range(SEARCH_PAGES):
        page, cursor = admin.list(TEAMS, p, state, MAX_LIMIT, cursor)
        for i, record in enumerate(page):
            if needle in ("",) or _matches(record.data, needle):
                out.append(record)
                if len(out) == limit:
                    more = i + 1 < len(page) or cursor is not None
                    return out, encode_cursor({"s": record.id}) if more else None
        if cursor is None:
            return out, None
    return out, cursor


def all_teams(admin: ConfigAdmin, p: Principal, state: str | None) -> list[dict[str, Any]]:
    """Every team the caller may see in a state, in id order (the export).

    Another state's is 404, as reading one of its teams would be (a list of it is empty).
    """
    if state:
        authorize(p, TEAMS.name, Verb.READ, Scope(state=state))
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page, cursor = admin.list(TEAMS, p, state, MAX_LIMIT, cursor)
        out += [r.data for r in page]
        if cursor is None:
            return out


def _member_row_problems(loc: str, members: Sequence[dict[str, Any]]) -> tuple[int, str] | None:
    """(index, column) of a team problem located at ``members[i].field``."""
    if not loc.startswith("members["):
        return None
    index_text, _, rest = loc.removeprefix("members[").partition("]")
    if not index_text.isdigit() or int(index_text) >= len(members):
        return None
    name = rest.lstrip(".").split(".")[0].split("[")[0]
    return int(index_text), _COLUMN.get(name, name or "member_id")


def _desired(current: dict[str, Any] | None, rows: Sequence[CsvRow]) -> dict[str, Any]:
    first = rows[0].team
    data: dict[str, Any] = dict(current) if current else {"id": first["id"]}
    data["state"] = data.get("state") or first["state"]
    for key in ("name", "district"):
        given = [r.team[key] for r in rows if key in r.team]
        if given:
            data[key] = given[0]
    members = [dict(m) for m in data.get("members", [])]
    for row in rows:
        if row.member is None:
            continue
        wanted = {k: v for k, v in row.member.items() if k in MEMBER_FIELDS}
        at = next((i for i, m in enumerate(members) if m["id"] == wanted["id"]), None)
        if at is None:
            members.append({**wanted, "team_id": data["id"]})
        else:
            # Fields the CSV does not carry (quiet hours, consent stamps) stay as stored.
            members[at] = {**members[at], **wanted}
    data["members"] = members
    return data


def _team_problems(
    admin: ConfigAdmin,
    p: Principal,
    current: ConfigRecord | None,
    data: dict[str, Any],
) -> list[FieldProblem]:
    """What writing ``data`` would be refused for, before anything is written."""
    problems: list[FieldProblem] = []
    if current is not None and current.data.get("state") != data["state"]:
        return [FieldProblem("state", f"the team is in {current.data.get('state')}")]
    if not data.get("name"):
        return [FieldProblem("team_name", "required for a new team")]
    try:
        authorize(p, TEAMS.name, Verb.WRITE, TEAMS.scope(data), creating=True)
        if current is not None:
            authorize(p, TEAMS.name, Verb.WRITE, TEAMS.scope(current.data))
    except (ForbiddenError, NotFoundError) as err:
        return list(err.problems) or [FieldProblem("team_id", err.detail)]
    # Roles are handed out only downwards: checked member by member, so the refusal names the
    # row that asked for too much and the rest of the team still goes in.
    before = None if current is None else team_from_dict(current.data)
    kept = [] if current is None else list(current.data.get("members", []))
    for i, member in enumerate(data["members"]):
        one = [m for m in kept if m["id"] != member["id"]] + [member]
        try:
            check_member_changes(p, before, team_from_dict({**data, "members": one}))
        except ForbiddenError as err:
            problems += [FieldProblem(f"members[{i}].role", f.msg) for f in err.problems]
    if problems:
        return problems
    try:
        TEAMS.validate(TEAMS.prepare(data))
    except InvalidInputError as err:
        problems += list(err.problems) or [FieldProblem("team_id", str(err))]
    if admin.contacts is not None:
        problems += check_contacts(data, admin.contacts.enabled)
    if len(data["members"]) > MAX_MEMBERS:
        problems.append(FieldProblem("member_id", f"a team has at most {MAX_MEMBERS} members"))
    return problems


def _same(current: dict[str, Any], desired: dict[str, Any]) -> bool:
    return TEAMS.prepare(desired) == TEAMS.prepare(current)


def import_members(
    admin: ConfigAdmin,
    p: Principal,
    rows: Sequence[CsvRow],
    apply: bool,
    on_write: Callable[[str], None] | None = None,
) -> ImportReport:
    """Check every row, then (``apply``) write each team the good rows change, once."""
    if not may(p, TEAMS.name, Verb.WRITE):  # the role first: 403 before any row is read
        raise ForbiddenError(f"a {p.role.value} may not write team objects")
    report = ImportReport(rows=len(rows))
    bad: dict[int, list[FieldProblem]] = {r.line: list(r.problems) for r in rows if r.problems}
    by_team: dict[str, list[CsvRow]] = {}
    for row in rows:
        if not row.problems:
            by_team.setdefault(row.team["id"], []).append(row)
    writes: list[tuple[ConfigRecord | None, dict[str, Any]]] = []
    for team_id, team_rows in by_team.items():
        current = team_record(admin.store, team_id)
        if current is not None:
            try:
                admin.get(TEAMS, p, team_id)
            except (ForbiddenError, NotFoundError):
                current = None  # outside the caller's scope: answered as if it did not exist
                for row in team_rows:
                    bad.setdefault(row.line, []).append(
                        FieldProblem("team_id", "no such team in your scope")
                    )
                continue
        live = list(team_rows)
        while live:
            data = _desired(None if current is None else current.data, live)
            problems = _team_problems(admin, p, current, data)
            if not problems:
                break
            blamed: set[int] = set()
            for problem in problems:
                found = _member_row_problems(problem.loc, data["members"])
                member_id = data["members"][found[0]]["id"] if found else None
                culprits = [r for r in live if r.member and r.member["id"] == member_id]
                if found and culprits:
                    for r in culprits:
                        bad.setdefault(r.line, []).append(FieldProblem(found[1], problem.msg))
                        blamed.add(r.line)
                else:  # a problem of the team itself: every row of it
                    column = _COLUMN.get(problem.loc, problem.loc)
                    for r in live:
                        bad.setdefault(r.line, []).append(FieldProblem(column, problem.msg))
                        blamed.add(r.line)
            live = [r for r in live if r.line not in blamed]
        if not live:
            continue
        data = _desired(None if current is None else current.data, live)
        if current is not None and _same(current.data, data):
            report.unchanged.append(team_id)
            continue
        (report.created if current is None else report.updated).append(team_id)
        writes.append((current, data))
    for row in rows:
        if row.line in bad:
            report.invalid.append(
                RowReport(
                    row.line,
                    str(row.team.get("id", "")),
                    str((row.member or {}).get("id", "")),
                    tuple(bad[row.line]),
                )
            )
    if apply:
        for current, data in writes:
            if current is None:
                admin.create(TEAMS, p, data)
            else:
                admin.replace(TEAMS, p, data["id"], data, current.version)
            if on_write is not None:
                on_write(data["id"])
        report.applied = True
    return report
