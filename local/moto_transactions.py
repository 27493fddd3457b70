"""moto's DynamoDB transactions at the cost of the items they touch, not of their tables.

moto backs every ``TransactWriteItems`` up with a deep copy of each table it names (items,
stream records and all), so that it can put the copy back if a condition fails. That made a
transaction's cost grow with the table: ~15 ms on an empty table, ~300 ms at 1,000 items here,
and since the local AWS serves one DynamoDB request at a time (``local.aws``), every stream
read and dispatch write waited behind it; on a loaded machine dispatch's per-task marks took
~190 ms each. DynamoDB's cost does not grow with the table, so neither should ours.

:func:`install` keeps moto's transaction code and semantics (conditions, cancellation
reasons, one stream record per write) and replaces only its backup: the table's item map,
copied by reference (puts replace items, deletes drop them), deep copies of just the items an
``Update`` changes in place, and the stream's length. A cancelled or failed transaction puts
those back in the same table and shard objects (iterators held by stream readers stay
valid). Safe only where DynamoDB requests run one at a time, as ``local.aws`` runs them.
"""

from __future__ import annotations

import copy
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class TableBackup:
    table: Any
    items: dict[Any, Any]
    stream_length: int | None

    @classmethod
    def take(cls, table: Any, updated_keys: list[dict[str, Any]]) -> TableBackup:
        from moto.dynamodb.models.dynamo_type import DynamoType

        ranged = table.range_key_attr is not None
        items = {h: dict(v) if ranged else v for h, v in table.items.items()}
        for key in updated_keys:  # changed in place by moto: keep them as they are now
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = DynamoType(key[table.range_key_attr]) if ranged else None
            current = table.get_item(hash_value, range_value)
            if current is None:
                continue
            if ranged:
                items[hash_value][range_value] = copy.deepcopy(current)
            else:
                items[hash_value] = copy.deepcopy(current)
        shard = table.stream_shard
        return cls(table, items, None if shard is None else len(shard.items))

    def restore(self) -> None:
        self.table.items.clear()
        self.table.items.update(self.items)
        shard = self.table.stream_shard
        if shard is not None and self.stream_length is not None:
            del shard.items[self.stream_length :]


def install() -> Callable[[], None]:
    """Patch moto's backend; returns the way to put moto's own method back."""
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    original = models.DynamoDBBackend.transact_write_items

    def keep_tables(obj: Any, *args: Any) -> Any:
        # moto's backup of a whole table: ours (TableBackup) is taken before it starts.
        return obj if isinstance(obj, Table) else copy.deepcopy(obj, *args)

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        updated: dict[str, list[dict[str, Any]]] = {}
        for item in transact_items:
            for op_type, op in item.items():
                name = op.get("TableName") if isinstance(op, dict) else None
                if isinstance(name, str) and name in self.tables:
                    keys = updated.setdefault(name, [])
                    if op_type == "Update" and isinstance(op.get("Key"), dict):
                        keys.append(op["Key"])
        try:
            backups = [TableBackup.take(self.tables[n], keys) for n, keys in updated.items()]
        except Exception:  # a malformed key: moto's own code says what is wrong with it
            original(self, transact_items)
            return
        setattr(models, "copy", types.SimpleNamespace(deepcopy=keep_tables))  # noqa: B010
        try:
            original(self, transact_items)
        except BaseException:
            for backup in backups:
                backup.restore()
            raise
        finally:
            setattr(models, "copy", copy)  # noqa: B010 (moto does not re-export it)

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]

    def uninstall() -> None:
        models.DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]

    return uninstall
