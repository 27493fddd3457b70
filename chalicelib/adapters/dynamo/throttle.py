"""Per-team paging state on DynamoDB, written with optimistic concurrency."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist, PutError, PynamoDBException

from chalicelib.adapters.dynamo.models import ThrottleModel
from chalicelib.domain.throttle import TeamThrottle, throttle_from_dict, throttle_to_dict
from chalicelib.errors import UpstreamError

DUE = "due"  # one partition: at most one item per team, only while a digest is held


class DynamoThrottleStore:
    def load(self, team_id: str) -> tuple[TeamThrottle | None, int]:
        try:
            item = ThrottleModel.get(team_id, consistent_read=True)
        except DoesNotExist:
            return None, 0
        except PynamoDBException as err:
            raise UpstreamError(f"reading the paging state of {team_id} failed") from err
        return throttle_from_dict(item.data), int(item.version)

    def save(self, team_id: str, state_code: str, state: TeamThrottle, expected: int) -> bool:
        item = ThrottleModel(
            team_id=team_id,
            state_code=state_code,
            data=throttle_to_dict(state),
            version=expected + 1,
            digest_due=state.digest_due if state.digest else None,
            due_bucket=DUE if state.digest else None,
        )
        condition = (
            ThrottleModel.team_id.does_not_exist()
            if expected == 0
            else ThrottleModel.version == expected
        )
        try:
            item.save(condition=condition)
        except PutError as err:
            if err.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise UpstreamError(f"saving the paging state of {team_id} failed") from err
        return True

    def due(self, now: datetime) -> list[tuple[str, str]]:
        """(team id, state code) of teams whose digest is due."""
        try:
            return [
                (i.team_id, i.state_code)
                for i in ThrottleModel.by_due.query(DUE, ThrottleModel.digest_due <= now)
            ]
        except PynamoDBException as err:
            raise UpstreamError("reading due digests failed") from err
