"""What the local AWS (moto) holds, and the retention that keeps a long run's memory bounded.

Runs inside the moto server's process (``python -m local.aws``), which serves the figures at
``GET /_tvarit/memory`` (JSON). moto keeps some things AWS does not, or not for long:

- **DynamoDB Streams shard iterators**: every ``GetRecords`` answer makes a new iterator (a
  472-byte random id, its ~800-character ARN as the key) that moto keeps forever. AWS expires
  an iterator 15 minutes after it is issued. The pump asks every 0.2 s per shard when idle.
- **SNS published messages**: each topic keeps every message published to it
  (``sent_notifications``), for moto's own inspection API; AWS keeps none.
- **SQS deleted receipt handles**: each queue remembers every receipt handle it ever deleted
  (so a repeated delete succeeds); AWS's receipt handles stop working after the visibility
  timeout.
- **DynamoDB stream records**: a table's stream keeps every record; AWS trims after 24 hours.
- **Every model object moto ever made** (the largest by far): ``BaseModel.__new__`` appends
  each instance to its class's ``instances_tracked`` list, for moto's dashboard
  (``/moto-api/data.json``), and nothing removes them. A deleted SQS message, a replaced
  DynamoDB item and, worst, the deep copy of every table that each ``TransactWriteItems``
  takes for its rollback (every item and stream record of the tasks table, per transaction)
  stay in memory for good. Measured: 200 transactions on a 2,000-item table with a stream
  kept 1 GB (5 M objects); the local stack grew 40 MB in 54 transactions.

:func:`install_retention` swaps those containers for bounded ones of the same shape (moto
only appends to them, looks them up by key or membership, and reads stream records by
sequence number), keeping what a client can still legitimately ask for.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterable
from typing import Any

# AWS: a shard iterator expires 15 minutes after it is returned.
ITERATOR_LIFETIME_SECONDS = 15 * 60
# SNS keeps nothing it published; a few for anyone inspecting moto by hand.
KEEP_PUBLISHED = 50
# Receipt handles of deleted messages, per queue: far more than the messages in flight.
KEEP_DELETED_HANDLES = 5_000
# Stream records: AWS keeps 24 h. The pump reads within seconds; an hour is ample locally.
STREAM_RETENTION_SECONDS = 3600.0


class ExpiringIterators(dict[str, Any]):
    """``shard_iterators``: entries older than ``lifetime`` are dropped as new ones arrive."""

    def __init__(self, items: Iterable[tuple[str, Any]] = (), lifetime: float = 900.0) -> None:
        super().__init__()
        self.lifetime = lifetime
        self._born: OrderedDict[str, float] = OrderedDict()
        for key, value in items:
            self[key] = value

    def __setitem__(self, key: str, value: Any) -> None:
        now = time.monotonic()
        super().__setitem__(key, value)
        self._born[key] = now
        self._born.move_to_end(key)
        while self._born:
            oldest, born = next(iter(self._born.items()))
            if now - born <= self.lifetime:
                break
            del self._born[oldest]
            super().pop(oldest, None)


class RecentSet:
    """``deleted_messages``: the last ``limit`` receipt handles (moto: ``in`` and ``update``)."""

    def __init__(self, items: Iterable[str] = (), limit: int = KEEP_DELETED_HANDLES) -> None:
        self.limit = limit
        self._items: OrderedDict[str, None] = OrderedDict()
        self.update(items)

    def update(self, items: Iterable[str | None]) -> None:
        for item in items:
            if item is None:
                continue
            self._items[item] = None
            self._items.move_to_end(item)
        while len(self._items) > self.limit:
            self._items.popitem(last=False)

    def add(self, item: str) -> None:
        self.update([item])

    def __contains__(self, item: object) -> bool:
        return item in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Any:
        return iter(self._items)


def _backends(name: str) -> list[Any]:
    """Every (account, region) backend moto has made for a service so far."""
    import importlib

    module = importlib.import_module(
        {
            "sns": "moto.sns.models",
            "sqs": "moto.sqs.models",
            "dynamodb": "moto.dynamodb.models",
            "dynamodbstreams": "moto.dynamodbstreams.models",
        }[name]
    )
    backend_dict = getattr(module, f"{name}_backends")
    found = []
    for account in list(backend_dict.keys()):
        regions = backend_dict[account]
        for region in list(regions.keys()):
            found.append(regions[region])
    return found


def trim_stream(shard: Any, keep_seconds: float, now: float) -> int:
    """Drop a stream shard's records older than ``keep_seconds``; sequence numbers stay.

    moto numbers a record ``starting_sequence_number + its index``, so the start moves up by
    the number dropped. Returns how many were dropped.
    """
    items = shard.items
    drop = 0
    for record in items:
        created = record.record.get("dynamodb", {}).get("ApproximateCreationDateTime", now)
        stamp = created.timestamp() if hasattr(created, "timestamp") else float(created)
        if now - stamp <= keep_seconds:
            break
        drop += 1
    if drop:
        del items[:drop]
        shard.starting_sequence_number += drop
    return drop


def _tracked_classes() -> list[Any]:
    from moto.core.model_instances import model_data

    return [cls for models in model_data.values() for cls in models.values()]


def tracked_instances() -> dict[str, int]:
    """Instances moto's dashboard tracks, by model class (the largest first)."""
    counts = {
        f"{cls.__module__.split('.')[1]}.{cls.__name__}": len(cls.instances_tracked)
        for cls in _tracked_classes()
        if getattr(cls, "instances_tracked", None)
    }
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def forget_tracked_instances() -> int:
    """Empty every model class's ``instances_tracked`` (moto's own ``reset_model_data``, minus
    the reset of the backends): only the dashboard reads them. How many were forgotten."""
    forgotten = 0
    for cls in _tracked_classes():
        tracked = getattr(cls, "instances_tracked", None)
        if tracked:
            forgotten += len(tracked)
            cls.instances_tracked = []
    return forgotten


def apply_retention(
    stream_seconds: float = STREAM_RETENTION_SECONDS,
    iterator_lifetime: float = ITERATOR_LIFETIME_SECONDS,
    keep_published: int = KEEP_PUBLISHED,
    keep_deleted: int = KEEP_DELETED_HANDLES,
) -> dict[str, int]:
    """One pass: bound every container named in the module docstring. What it trimmed."""
    trimmed = {
        "iterators": 0,
        "published": 0,
        "deleted_handles": 0,
        "stream_records": 0,
        "tracked_instances": forget_tracked_instances(),
    }
    for streams in _backends("dynamodbstreams"):
        if not isinstance(streams.shard_iterators, ExpiringIterators):
            before = len(streams.shard_iterators)
            streams.shard_iterators = ExpiringIterators(
                streams.shard_iterators.items(), iterator_lifetime
            )
            trimmed["iterators"] += before - len(streams.shard_iterators)
    for sns in _backends("sns"):
        for topic in list(sns.topics.values()):
            if not isinstance(topic.sent_notifications, deque):
                trimmed["published"] += max(0, len(topic.sent_notifications) - keep_published)
                topic.sent_notifications = deque(topic.sent_notifications, maxlen=keep_published)
    for sqs in _backends("sqs"):
        for queue in list(sqs.queues.values()):
            if not isinstance(queue.deleted_messages, RecentSet):
                before = len(queue.deleted_messages)
                queue.deleted_messages = RecentSet(queue.deleted_messages, keep_deleted)
                trimmed["deleted_handles"] += before - len(queue.deleted_messages)
    now = time.time()
    for dynamodb in _backends("dynamodb"):
        for table in list(dynamodb.tables.values()):
            shard = getattr(table, "stream_shard", None)
            if shard is not None:
                trimmed["stream_records"] += trim_stream(shard, stream_seconds, now)
    return trimmed


def install_retention(lock: Any, every_seconds: float = 5.0) -> threading.Thread:
    """Apply the retention every few seconds (new queues, topics and tables included).

    ``lock`` is the DynamoDB lock of ``local.aws``: stream records are trimmed while no
    DynamoDB request runs.
    """

    def loop() -> None:
        while True:
            with lock:
                apply_retention()
            time.sleep(every_seconds)

    thread = threading.Thread(target=loop, name="moto-retention", daemon=True)
    thread.start()
    return thread


def _size(obj: Any, seen: set[int] | None = None, depth: int = 0) -> int:
    """Approximate bytes held by ``obj`` and what it contains (objects' ``__dict__`` too)."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 12:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, str | bytes | int | float | bool) or obj is None:
        return size
    if isinstance(obj, dict):
        for k, v in list(obj.items()):
            size += _size(k, seen, depth + 1) + _size(v, seen, depth + 1)
    elif isinstance(obj, list | tuple | set | frozenset | deque):
        for v in list(obj):
            size += _size(v, seen, depth + 1)
    elif hasattr(obj, "__dict__"):
        for name, value in vars(obj).items():
            if name not in _SHARED:  # counted where they live, not through every referrer
                size += _size(name, seen, depth + 1) + _size(value, seen, depth + 1)
    return size


# Attributes pointing back at a table, shard or backend (an iterator at its whole table).
_SHARED = frozenset(
    {"table", "stream_shard", "streams_backend", "sns_backend", "backend", "queue", "topic"}
)


def measure(sizes: bool = True) -> dict[str, Any]:
    """Counts (and approximate bytes) of what the local AWS holds, by service and resource."""
    tracked = tracked_instances()
    out: dict[str, Any] = {
        "rss_kb": rss_kb(),
        "tracked_instances": {
            "count": sum(tracked.values()),
            "top": dict(list(tracked.items())[:8]),
        },
    }
    iterators = sum(len(s.shard_iterators) for s in _backends("dynamodbstreams"))
    out["stream_iterators"] = {
        "count": iterators,
        "bytes": sum(_size(s.shard_iterators) for s in _backends("dynamodbstreams"))
        if sizes
        else 0,
    }
    topics = [t for sns in _backends("sns") for t in sns.topics.values()]
    published = [t.sent_notifications for t in topics]
    out["sns_published"] = {
        "count": sum(len(p) for p in published),
        "bytes": sum(_size(p) for p in published) if sizes else 0,
        "topics": len(topics),
    }
    out["sns_subscriptions"] = sum(len(s.subscriptions) for s in _backends("sns"))
    queues = [q for sqs in _backends("sqs") for q in sqs.queues.values()]
    out["sqs"] = {
        "queues": len(queues),
        "messages": sum(len(q._messages) for q in queues),
        "messages_bytes": sum(_size(q._messages) for q in queues) if sizes else 0,
        "deleted_handles": sum(len(q.deleted_messages) for q in queues),
        "deleted_handles_bytes": sum(_size(q.deleted_messages) for q in queues) if sizes else 0,
    }
    tables: dict[str, Any] = {}
    for dynamodb in _backends("dynamodb"):
        for name, table in dynamodb.tables.items():
            shard = getattr(table, "stream_shard", None)
            tables[name] = {
                "items": len(table.all_items()) if hasattr(table, "all_items") else 0,
                "items_bytes": _size(table.items) if sizes else 0,
                "stream_records": len(shard.items) if shard is not None else 0,
                "stream_bytes": _size(shard.items) if sizes and shard is not None else 0,
            }
    out["dynamodb"] = tables
    return out


def rss_kb() -> int:
    """This process's resident set size, in KiB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
