"""``tvarit token``: mint a bearer token from the local stack's development issuer.

The local stack writes its issuer's private key to a file and prints its path; point
``$TVARIT_DEV_SIGNING_KEY`` (or ``--key``) at it. Tokens carry Cognito's claims, with the role
and scope as custom attributes. Never for production: Cognito issues those.
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from pathlib import Path

from chalicelib.commands import EXIT_OK
from chalicelib.domain.access import (
    CLAIM_DISTRICT,
    CLAIM_ROLE,
    CLAIM_STATE,
    CLAIM_TEAM,
    Role,
    principal_from_claims,
)
from chalicelib.domain.states import STATE_CODES, is_state
from chalicelib.errors import FieldProblem, InvalidInputError, MalformedInputError, TvaritError
from chalicelib.settings import ENV_DEV_SIGNING_KEY, ENV_JWT_AUDIENCE

MAX_TTL_SECONDS = 86_400  # a day: the longest validity Cognito gives ID and access tokens
_FLAG_OF_CLAIM = {
    "sub": "--sub",
    CLAIM_STATE: "--state",
    CLAIM_DISTRICT: "--district",
    CLAIM_TEAM: "--team",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--role", required=True, choices=[r.value for r in Role])
    parser.add_argument(
        "--state", default="", type=_state, help="state code (state and district heads), e.g. RJ"
    )
    parser.add_argument("--district", default="", help="district (district heads)")
    parser.add_argument("--team", default="", help="team id (team leads and warriors)")
    parser.add_argument("--sub", default="", help="the user's id (default: derived from role)")
    parser.add_argument(
        "--ttl",
        type=_ttl,
        default=3600,
        help=f"seconds until it expires, 1 to {MAX_TTL_SECONDS} (default: 3600)",
    )
    parser.add_argument("--access", action="store_true", help="an access token, not an ID token")
    parser.add_argument(
        "--key",
        type=Path,
        default=os.environ.get(ENV_DEV_SIGNING_KEY) or None,
        help=f"the dev issuer's key file (default: ${ENV_DEV_SIGNING_KEY})",
    )


def _state(text: str) -> str:
    code = text.strip().upper()
    if code and not is_state(code):  # argparse passes the default "" through here too
        raise argparse.ArgumentTypeError(f"{text!r} is not a state code; {_STATES_HINT}")
    return code


_STATES_HINT = "one of " + " ".join(STATE_CODES) + " (ISO 3166-2:IN)"


def _ttl(text: str) -> int:
    try:
        seconds = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds") from None
    if not 0 < seconds <= MAX_TTL_SECONDS:
        raise argparse.ArgumentTypeError(
            f"{seconds} is out of range: a token lives 1 to {MAX_TTL_SECONDS} seconds"
        )
    return seconds


def run(args: argparse.Namespace) -> int:
    from chalicelib.adapters.jwt_tokens import DEV_AUDIENCE, DevIssuer

    claims = {
        "sub": args.sub or f"{args.role}-{args.state or args.team or 'national'}".lower(),
        CLAIM_ROLE: args.role,
    }
    for name, value in (
        (CLAIM_STATE, args.state),
        (CLAIM_DISTRICT, args.district),
        (CLAIM_TEAM, args.team),
    ):
        if value:
            claims[name] = value
    try:
        principal_from_claims(claims)  # refuse to mint a token the API would refuse
    except TvaritError as err:
        raise InvalidInputError(
            f"--role {args.role}",
            [FieldProblem(_FLAG_OF_CLAIM.get(p.loc, p.loc), _hint(p)) for p in err.problems],
        ) from None
    if args.key is None:
        raise InvalidInputError(
            f"no key file: pass --key or set ${ENV_DEV_SIGNING_KEY} to the path `make run` prints"
        )
    try:
        issuer = DevIssuer.load(Path(args.key))
    except MalformedInputError as err:
        raise MalformedInputError(f"--key {err.detail}") from None
    audience = os.environ.get(ENV_JWT_AUDIENCE) or DEV_AUDIENCE
    print(
        issuer.mint(
            claims,
            datetime.now(UTC),
            args.ttl,
            audience=audience,
            token_use="access" if args.access else "id",
        )
    )
    return EXIT_OK


def _hint(p: FieldProblem) -> str:
    return f"required for this role; {_STATES_HINT}" if p.loc == CLAIM_STATE else p.msg
