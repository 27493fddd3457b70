"""Members CSV as tables: the file's own problems, each row's, and the export round trip."""

from __future__ import annotations

import pytest

from chalicelib.domain.member_csv import COLUMNS, decode, export, parse
from chalicelib.errors import InvalidInputError, MalformedInputError, PayloadTooLargeError

HEADER = ",".join(COLUMNS)


def one(line: str, header: str = HEADER) -> list[tuple[str, str]]:
    (row,) = parse(f"{header}\n{line}\n")
    return [(p.loc, p.msg) for p in row.problems]


@pytest.mark.parametrize(
    ("line", "locs"),
    [
        ("RJ-1,Jaipur 1,RJ,JAIPUR,w1,Meena,warrior,hi,push,,,no", []),
        ("RJ-1,Jaipur 1,rj,JAIPUR,w1,Meena,,hi|en,push|email,,a@b.in,yes", []),
        ("RJ-1,Jaipur 1,XX,JAIPUR,w1,Meena,warrior,hi,push,,,no", ["state"]),
        (",Jaipur 1,RJ,JAIPUR,w1,Meena,warrior,hi,push,,,no", ["team_id"]),
        ("RJ-1,Jaipur 1,RJ,JAIPUR,w1,Meena,warrior,hi,push,,,maybe", ["contact_consent"]),
        ("RJ-1,Jaipur 1,RJ,JAIPUR,w1,Meena,warrior,hi,push,,", ["row"]),  # a value short
        ("RJ-1,Jaipur 1,RJ,JAIPUR,,,,,,,,", []),  # a team without members
        ("RJ-1,जयपुर एक,RJ,JAIPUR,w1,मीना,warrior,hi,push,,,नहीं", []),
    ],
)
def test_row_problems(line: str, locs: list[str]) -> None:
    assert [loc for loc, _ in one(line)] == locs


def test_a_row_names_the_member_whole_but_only_its_columns() -> None:
    (row,) = parse("team_id,state,member_id,name\nRJ-1,RJ,w1,Meena\n")
    assert row.member == {"id": "w1", "name": "Meena"}  # role, phone... stay as stored
    (row,) = parse(f"{HEADER}\nRJ-1,J,RJ,,w1,Meena,,,,,,\n")
    assert row.member is not None
    assert row.member["role"] == "warrior" and row.member["channels"] == ["push"]
    assert row.member["phone"] == "" and row.member["contact_consent"] is False


def test_the_same_member_twice_and_a_team_that_disagrees_with_itself() -> None:
    rows = parse(
        f"{HEADER}\n"
        "RJ-1,Jaipur 1,RJ,JAIPUR,w1,Meena,warrior,hi,push,,,no\n"
        "RJ-1,Jaipur One,RJ,JAIPUR,w2,Ravi,warrior,hi,push,,,no\n"
        "RJ-2,Jaipur 2,RJ,JAIPUR,w1,Meena,warrior,hi,push,,,no\n"
    )
    assert [r.line for r in rows] == [2, 3, 4]
    assert [p.loc for p in rows[1].problems] == ["team_name"]
    assert "line 2" in rows[1].problems[0].msg
    assert [(p.loc, p.msg) for p in rows[2].problems] == [("member_id", "also on line 2")]


@pytest.mark.parametrize(
    ("text", "locs"),
    [
        ("", ["header"]),
        ("team_id,state,phnoe\nRJ-1,RJ,1\n", ["header.phnoe"]),
        ("team_name,member_id\nx,y\n", ["header.team_id", "header.state"]),
        ("team_id,state,state\nRJ-1,RJ,RJ\n", ["header.state"]),
        (f"{HEADER}\n\n\n", ["body"]),
    ],
)
def test_file_problems_stop_everything(text: str, locs: list[str]) -> None:
    with pytest.raises(InvalidInputError) as err:
        parse(text)
    assert [p.loc for p in err.value.problems] == locs


def test_blank_lines_and_line_numbers() -> None:
    rows = parse(f"{HEADER}\r\n\r\nRJ-1,J,RJ,,w1,M,,,,,,\r\n")
    assert [r.line for r in rows] == [3]


def test_bodies() -> None:
    assert decode("\ufeffteam_id".encode()) == "team_id"  # spreadsheets' byte-order mark
    with pytest.raises(MalformedInputError):
        decode(b"team_id,\xff\xfe")
    with pytest.raises(PayloadTooLargeError):
        decode(b"x" * (4 * 1024 * 1024 + 1))


def test_export_parses_back_to_the_same_members() -> None:
    team = {
        "id": "RJ-1",
        "name": "Jaipur, one",  # a comma is quoted
        "state": "RJ",
        "district": "JAIPUR",
        "members": [
            {
                "id": "w1",
                "name": "Meena",
                "role": "lead",
                "languages": ["hi", "en"],
                "channels": ["push", "sms"],
                "phone": "+919829000000",
                "email": "",
                "contact_consent": True,
            },
        ],
    }
    empty = {"id": "RJ-2", "name": "Empty", "state": "RJ", "members": []}
    rows = parse(export([team, empty]))
    assert [r.problems for r in rows] == [[], []]
    assert rows[0].team == {
        "id": "RJ-1",
        "name": "Jaipur, one",
        "state": "RJ",
        "district": "JAIPUR",
    }
    assert rows[0].member == {
        "id": "w1",
        "name": "Meena",
        "role": "lead",
        "languages": ["hi", "en"],
        "channels": ["push", "sms"],
        "phone": "+919829000000",
        "email": "",
        "contact_consent": True,
    }
    assert rows[1].member is None
