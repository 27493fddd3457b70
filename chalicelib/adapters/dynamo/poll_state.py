"""Poll state per watched account, kept in the config table under its own partition.

Items are ``pk = "POLL"``, ``sk = <account key>``, ``data`` = the state's dict form. They are
written directly, not through the audited config path: a cursor moving every few minutes is
operational state, and bumping the config version on each poll would flush every container's
config cache. One query on ``"POLL"`` lists all accounts with their health for cell heads.
"""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, PynamoDBException

from chalicelib.adapters.dynamo.models import ConfigItemModel
from chalicelib.errors import UpstreamError
from chalicelib.services.polling import PollState, poll_state_from_dict, poll_state_to_dict

POLL_PARTITION = "POLL"
POLL_KIND = "poll_state"


class DynamoCursorStore:
    """:class:`chalicelib.services.polling.CursorStore` on the config table."""

    def get(self, account_key: str) -> PollState | None:
        """The saved state of one account, or None."""
        try:
            item = ConfigItemModel.get(POLL_PARTITION, account_key, consistent_read=True)
        except DoesNotExist:
            return None
        except PynamoDBException as err:
            raise UpstreamError(
                f"reading poll state of {account_key} failed: {err.cause_response_code}"
            ) from err
        return poll_state_from_dict(item.data or {})

    def save(self, account_key: str, state: PollState) -> None:
        """Replace the saved state (last writer wins: one poller per account at a time)."""
        item = ConfigItemModel(
            pk=POLL_PARTITION, sk=account_key, kind=POLL_KIND, data=poll_state_to_dict(state)
        )
        try:
            item.save()
        except PynamoDBException as err:
            raise UpstreamError(
                f"saving poll state of {account_key} failed: {err.cause_response_code}"
            ) from err

    def all(self) -> dict[str, PollState]:
        """Every account's state, in one paginated query."""
        try:
            return {
                item.sk: poll_state_from_dict(item.data or {})
                for item in ConfigItemModel.query(POLL_PARTITION)
            }
        except PynamoDBException as err:
            raise UpstreamError(f"listing poll states failed: {err.cause_response_code}") from err
