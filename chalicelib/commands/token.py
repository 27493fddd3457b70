"""``tvarit token``: mint a bearer token from the local stack's development issuer.

The local stack writes its issuer's private key to a file and prints its path; point
``$TVARIT_DEV_SIGNING_KEY`` (or ``--key``) at it. Tokens carry Cognito's claims, with the role
and scope as custom attributes. Never for production: Cognito issues those.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from chalicelib.domain.access import (
    CLAIM_DISTRICT,
    CLAIM_ROLE,
    CLAIM_STATE,
    CLAIM_TEAM,
    Role,
    principal_from_claims,
)
from chalicelib.errors import TvaritError
from chalicelib.settings import ENV_DEV_SIGNING_KEY, ENV_JWT_AUDIENCE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--role", required=True, choices=[r.value for r in Role])
    parser.add_argument("--state", default="", help="state code (state and district heads)")
    parser.add_argument("--district", default="", help="district (district heads)")
    parser.add_argument("--team", default="", help="team id (team leads and warriors)")
    parser.add_argument("--sub", default="", help="the user's id (default: derived from role)")
    parser.add_argument("--ttl", type=int, default=3600, help="seconds until it expires")
    parser.add_argument("--access", action="store_true", help="an access token, not an ID token")
    parser.add_argument(
        "--key",
        type=Path,
        default=os.environ.get(ENV_DEV_SIGNING_KEY) or None,
        help=f"the dev issuer's key file (default: ${ENV_DEV_SIGNING_KEY})",
    )


def run(args: argparse.Namespace) -> int:
    from chalicelib.adapters.jwt_tokens import DEV_AUDIENCE, DevIssuer

    if args.key is None or not Path(args.key).is_file():
        print(f"no key file: start the local stack and set ${ENV_DEV_SIGNING_KEY}", file=sys.stderr)
        return 2
    claims = {
        "sub": args.sub or f"{args.role}-{args.state or args.team or 'national'}".lower(),
        CLAIM_ROLE: args.role,
    }
    for name, value in (
        (CLAIM_STATE, args.state.upper()),
        (CLAIM_DISTRICT, args.district),
        (CLAIM_TEAM, args.team),
    ):
        if value:
            claims[name] = value
    try:
        principal_from_claims(claims)  # refuse to mint a token the API would refuse
    except TvaritError as err:
        for p in err.problems:
            print(f"{p.loc}: {p.msg}", file=sys.stderr)
        return 2
    issuer = DevIssuer.load(Path(args.key))
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
    return 0
