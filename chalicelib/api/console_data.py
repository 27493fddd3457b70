"""The console's data API: stats series from the daily rollup, members CSV import and export.

Views stay thin: parse, call a use case, shape the answer. Rows of an import are checked by the
API's own member model (``schemas.MemberIn``), as ``POST /teams/{id}/members`` checks a body.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api import wire
from chalicelib.api.auth import principal_of
from chalicelib.api.http import query_param
from chalicelib.api.problems import problems, request_path
from chalicelib.domain import member_csv
from chalicelib.domain.access import Principal
from chalicelib.domain.rollup import TeamTotals
from chalicelib.domain.states import is_state
from chalicelib.errors import FieldProblem, InvalidInputError
from chalicelib.services.config_admin import ConfigAdmin
from chalicelib.wiring import container

console_data_api = Blueprint(__name__)


def _path() -> str:
    return request_path(console_data_api.current_request)


def _caller() -> Principal:
    return principal_of(console_data_api.current_request)


def _admin() -> ConfigAdmin:
    c = container()
    return ConfigAdmin(c.config_repo, c.contact_sync, c.device_sync)


def _state(p: Principal, required: bool = True) -> str | None:
    value = query_param(console_data_api.current_request, "state")
    if value is None or value == "":
        if required and not p.state:
            raise InvalidInputError("say which state", [FieldProblem("state", "required")])
        return p.state or None
    if not is_state(value):
        raise InvalidInputError(
            "state must be a state code", [FieldProblem("state", "not a state or UT code")]
        )
    return value


def team_json(t: TeamTotals) -> wire.TeamResponse:
    return {
        "team_id": t.team_id,
        "district": t.district,
        "tasks": t.tasks,
        "acknowledged": t.acked,
        "completed": t.completed,
        "declined": t.declined,
        "never_responds": t.never_responds,
    }


def _series(with_teams: bool) -> Any:
    from chalicelib.services.rollup import parse_days, stats_series

    c = container()
    p = _caller()
    state = _state(p)
    assert state is not None
    days = parse_days(query_param(console_data_api.current_request, "days"))
    today = c.clock().astimezone(_ist()).date()
    return stats_series(c.rollups, p, state, today, days, with_teams)


def _ist() -> Any:
    from chalicelib.domain.rollup import IST

    return IST


@console_data_api.route("/stats/daily", methods=["GET"])
@problems(_path)
def stats_daily() -> wire.StatsDaily:
    s = _series(with_teams=False)
    return {
        "state": s.state,
        "district": s.district,
        "days": [
            {
                "day": d.day,
                "tasks": d.tasks,
                "acknowledged": d.acknowledged,
                "completed": d.completed,
                "declined": d.declined,
                "ack_p50_s": d.ack_p50_s,
                "ack_p90_s": d.ack_p90_s,
                "complete_p50_s": d.complete_p50_s,
                "complete_p90_s": d.complete_p90_s,
            }
            for d in s.days
        ],
    }


@console_data_api.route("/stats/teams", methods=["GET"])
@problems(_path)
def stats_teams() -> wire.StatsTeams:
    s = _series(with_teams=True)
    return {
        "state": s.state,
        "first_day": s.days[0].day,
        "last_day": s.days[-1].day,
        "teams": [team_json(t) for t in s.teams],
    }


def import_json(report: Any) -> wire.MemberImport:
    return {
        "rows": report.rows,
        "valid": report.valid,
        "invalid": [
            {
                "line": r.line,
                "team_id": r.team_id,
                "member_id": r.member_id,
                "errors": [{"loc": f.loc, "msg": f.msg} for f in r.problems],
            }
            for r in report.invalid
        ],
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "applied": report.applied,
    }


def check_rows(rows: list[member_csv.CsvRow]) -> None:
    """Each row's member (and team id) through the API's own models; problems by column."""
    from chalicelib.api import schemas

    columns = {"id": "member_id", "name": "name"}
    for row in rows:
        try:
            schemas.validate(
                schemas.TeamIn,
                {
                    "id": row.team.get("id", ""),
                    "name": row.team.get("name") or row.team.get("id") or "-",
                    "state": row.team.get("state", ""),
                    "district": row.team.get("district", ""),
                },
            )
        except InvalidInputError as err:
            team_columns = {"id": "team_id", "name": "team_name"}
            row.problems += [
                FieldProblem(team_columns.get(f.loc, f.loc), f.msg)
                for f in err.problems
                if not any(p.loc == team_columns.get(f.loc, f.loc) for p in row.problems)
            ]
        if row.member is None:
            continue
        try:
            checked = schemas.validate(schemas.MemberIn, row.member)
        except InvalidInputError as err:
            row.problems += [
                FieldProblem(columns.get(f.loc.split("[")[0], f.loc.split("[")[0]), f.msg)
                for f in err.problems
            ]
            continue
        # Normalised (E.164 phone, e-mail domain), keeping only the columns the file had.
        row.member = {k: checked[k] for k in row.member}


def run_import(p: Principal, raw: bytes, apply: bool) -> wire.MemberImport:
    """Parse, check and (``apply``) write a members CSV: the use case the page calls too."""
    from chalicelib.domain.access import Verb, may
    from chalicelib.errors import ForbiddenError
    from chalicelib.services.team_roster import import_members

    if not may(p, "team", Verb.WRITE):  # 403 before a byte of the file is looked at
        raise ForbiddenError(f"a {p.role.value} may not write team objects")
    rows = member_csv.parse(member_csv.decode(raw))
    check_rows(rows)
    return import_json(import_members(_admin(), p, rows, apply))


@console_data_api.route("/imports/members", methods=["POST"], content_types=["text/csv"])
@problems(_path)
def import_members_view() -> wire.MemberImport:
    request = console_data_api.current_request
    flag = query_param(request, "apply")
    if flag not in (None, "true", "false"):
        raise InvalidInputError("apply is true or false", [FieldProblem("apply", "true or false")])
    raw = request.raw_body or b""
    return run_import(_caller(), raw if isinstance(raw, bytes) else raw.encode(), flag == "true")


@console_data_api.route("/exports/members", methods=["GET"])
@problems(_path)
def export_members() -> Response:
    from chalicelib.services.team_roster import all_teams

    p = _caller()
    state = _state(p, required=False)
    text = member_csv.export(all_teams(_admin(), p, state))
    name = f"tvarit-members-{state or p.team or 'all'}.csv"
    return Response(
        body=text,
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )
