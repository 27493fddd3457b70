"""WhatsApp delivery's ledger in DynamoDB: conditional puts for first sightings, last inbound."""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist, PynamoDBException

from chalicelib.adapters.dynamo.models import WhatsAppLedgerModel
from chalicelib.domain.whatsapp import SERVICE_WINDOW
from chalicelib.errors import UpstreamError

# The last inbound item outlives the window a little, so a read at its edge still finds it.
INBOUND_KEPT = SERVICE_WINDOW + timedelta(hours=1)


class DynamoWhatsAppLedger:
    def first_sighting(self, key: str, at: datetime, expires_at: datetime) -> bool:
        m = WhatsAppLedgerModel
        item = m(key=f"seen#{key}", at=at, expires_at=expires_at)
        # TTL deletes lazily: an expired item counts as absent.
        free = m.key.does_not_exist() | (m.expires_at < at)
        try:
            item.save(condition=free)
        except PynamoDBException as err:
            if err.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise UpstreamError("recording a WhatsApp message id failed") from err
        return True

    def forget(self, key: str) -> None:
        try:
            WhatsAppLedgerModel(key=f"seen#{key}").delete()
        except PynamoDBException as err:
            raise UpstreamError("dropping a WhatsApp message id failed") from err

    def note_inbound(self, phone_key: str, at: datetime) -> None:
        m = WhatsAppLedgerModel
        item = m(key=f"inbound#{phone_key}", at=at, expires_at=at + INBOUND_KEPT)
        try:
            item.save(condition=m.key.does_not_exist() | (m.at < at))
        except PynamoDBException as err:
            if err.cause_response_code == "ConditionalCheckFailedException":
                return  # a later message is known already
            raise UpstreamError("recording a WhatsApp inbound time failed") from err

    def last_inbound(self, phone_key: str) -> datetime | None:
        try:
            item = WhatsAppLedgerModel.get(f"inbound#{phone_key}", consistent_read=True)
        except DoesNotExist:
            return None
        except PynamoDBException as err:
            raise UpstreamError("reading a WhatsApp inbound time failed") from err
        return item.at
