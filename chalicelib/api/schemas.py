"""Wire models of the configuration API (pydantic), imported only by views that need them.

pydantic costs ~0.1 s to import, so nothing on the cold-start path (``app.py`` and the
blueprints at import time) imports this module; views import it on first use. The same models
give the request schemas of the OpenAPI document.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from chalicelib.domain.contacts import normalize_email, normalize_phone
from chalicelib.domain.states import STATE_CODES, is_state
from chalicelib.errors import FieldProblem, InvalidInputError, MalformedInputError

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Short = Annotated[str, Field(max_length=64)]
QuietHours = Annotated[str, Field(pattern=r"^$|^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")]
Severity = Annotated[int, Field(ge=1, le=5)]
# Validated by _state; the enum tells clients (and the OpenAPI document) the codes up front.
StateCode = Annotated[str, Field(json_schema_extra={"enum": list(STATE_CODES)})]
QueryScope = Annotated[str, Field(json_schema_extra={"enum": ["national", *STATE_CODES]})]
PLATFORMS = Literal["x", "youtube", "facebook", "telegram", "bluesky", "mastodon", "rss", "webhook"]


def _at_most(limit: int) -> BeforeValidator:
    """The length limit on the text as sent: whitespace stripping must not let 2,001 characters
    through a documented ``maxLength`` of 2,000."""

    def check(value: Any) -> Any:
        if isinstance(value, str) and len(value) > limit:
            raise ValueError(f"String should have at most {limit} characters")
        return value

    return BeforeValidator(check)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


def _state(value: str) -> str:
    if not is_state(value):
        raise ValueError("not a state or union territory code")
    return value


class AccountIn(_Strict):
    platform: PLATFORMS
    handle: Annotated[str, Field(min_length=1, max_length=100)]
    platform_id: Short = ""


class LeaderIn(_Strict):
    id: Id
    name: Name
    state: StateCode
    district: Short = ""
    party: Short = ""
    accounts: Annotated[list[AccountIn], Field(max_length=50)] = []
    reach: Annotated[int, Field(ge=0)] = 0

    _check_state = field_validator("state")(_state)


class KeywordQueryIn(_Strict):
    id: Id
    query: Annotated[str, Field(min_length=1, max_length=2000), _at_most(2000)]
    name: Annotated[str, Field(max_length=200)] = ""
    category: Short = "general"
    severity: Severity = 3
    scope: QueryScope = "national"
    enabled: bool = True
    variants: bool = True
    exact: bool = False
    # The response brief per language: {"hi": "...", "en": "..."} (domain.keywords.model).
    brief: Annotated[
        dict[
            Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Z][a-z]{3})?$")],
            Annotated[str, Field(max_length=2000), _at_most(2000)],
        ],
        Field(max_length=10),
    ] = {}

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        return value if value == "national" else _state(value)


class PreviewIn(_Strict):
    query: Annotated[str, Field(min_length=1, max_length=2000)]
    exact: bool = False
    variants: bool = True
    limit: Annotated[int, Field(ge=1, le=100)] = 20


class MemberIn(_Strict):
    id: Id
    name: Name
    role: Literal["warrior", "lead", "district_head", "state_head"] = "warrior"
    languages: Annotated[
        list[Annotated[str, Field(min_length=2, max_length=16)]], Field(max_length=5)
    ] = []
    channels: Annotated[
        list[Literal["push", "sms", "email"]], Field(min_length=1, max_length=3)
    ] = ["push"]
    quiet_hours: QuietHours = ""
    min_severity: Severity = 1
    phone: Annotated[str, Field(max_length=32)] = ""
    email: Annotated[str, Field(max_length=254)] = ""
    # The cell head confirms the member agreed to be contacted; without it no phone or e-mail.
    contact_consent: bool = False

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize_phone(value) if value else value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalize_email(value) if value else value


class TeamIn(_Strict):
    id: Id
    name: Name
    state: StateCode
    district: Short = ""
    lead_id: Short = ""
    quiet_hours: QuietHours = ""
    members: Annotated[list[MemberIn], Field(max_length=50)] = []
    sms_audience: Literal["leads", "everyone"] = "leads"

    _check_state = field_validator("state")(_state)


class DeviceIn(_Strict):
    platform: Literal["fcm", "apns"]
    token: Annotated[str, Field(min_length=8, max_length=4096)]


class QueryCheckIn(_Strict):
    query: Annotated[str, Field(max_length=2000), _at_most(2000)]
    exact: bool = False
    variants: bool = True


class RoutePreviewIn(_Strict):
    # A draft route tree ({"route": {...}}), validated as PUT /routes validates it; absent:
    # the tree in force.
    config: dict[str, Any] | None = None
    labels: dict[str, str] | None = None
    mention_key: Annotated[str, Field(max_length=300)] = ""


MODELS: dict[str, type[BaseModel]] = {
    "Leader": LeaderIn,
    "KeywordQuery": KeywordQueryIn,
    "KeywordQueryPreview": PreviewIn,
    "Team": TeamIn,
    "Member": MemberIn,
    "Device": DeviceIn,
    "QueryCheckIn": QueryCheckIn,
    "RoutePreviewIn": RoutePreviewIn,
}


def _loc(parts: tuple[int | str, ...]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def validate(model: type[BaseModel], data: Any) -> dict[str, Any]:
    """The validated object as plain JSON data; every problem at once as InvalidInputError."""
    if not isinstance(data, dict):
        raise MalformedInputError(
            "the body must be a JSON object", [FieldProblem("body", "object")]
        )
    try:
        return model.model_validate(data).model_dump(mode="json")
    except ValidationError as err:
        problems = [
            FieldProblem(_loc(tuple(e["loc"])), str(e["msg"]))
            for e in err.errors(include_url=False)
        ]
        raise InvalidInputError(f"{len(problems)} invalid field(s)", problems) from None


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(ref_template="#/components/schemas/{model}")
