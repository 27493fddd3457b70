"""The event pump: plays Lambda's event source mappings, which ``chalice local`` does not.

It long-polls SQS queues, reads DynamoDB streams and fires schedules, and invokes the app's real
handlers with Lambda's event shapes, batch sizes and partial batch failure semantics:
- SQS: records reported in ``batchItemFailures`` (or every record, if the handler raises) are
  left on the queue; they come back after the visibility timeout, and the queue's redrive policy
  moves a message that keeps failing to its dead-letter queue.
- DynamoDB streams: a failed batch is retried from the lowest failed sequence number up to
  ``max_retries`` times, then the failed records go to the on-failure queue (Lambda's OnFailure
  destination) and the shard moves on.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]
# Lambda's base rate of reads of each shard of a DynamoDB stream, as AWS documents it.
STREAM_POLLS_PER_SECOND = 4.0


@dataclass
class FakeLambdaContext:
    """The attributes of Lambda's context object that handlers and powertools read."""

    function_name: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = ""
    log_group_name: str = ""
    log_stream_name: str = ""
    timeout_ms: int = 30_000
    _start: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.timeout_ms - int((time.monotonic() - self._start) * 1000))


@dataclass
class SqsMapping:
    name: str
    queue_url: str
    queue_arn: str
    handler: Handler
    batch_size: int = 10
    # The function's own container (LocalStack(function_containers=True)); None: the pump's.
    lock: threading.Lock | None = None


@dataclass
class StreamMapping:
    name: str
    stream_arn: str
    handler: Handler
    batch_size: int = 100
    max_retries: int = 2
    on_failure_queue_url: str = ""
    # (index, count) of this pump among the pump workers: it reads the shards it owns (a stable
    # hash of the shard id), so each shard has one reader, as under Lambda's mapping.
    worker: tuple[int, int] = (0, 1)
    lock: threading.Lock | None = None
    _iterators: dict[str, str] = field(default_factory=dict)

    def owns(self, shard_id: str) -> bool:
        index, count = self.worker
        return zlib.crc32(shard_id.encode()) % count == index


@dataclass
class ScheduleMapping:
    name: str
    handler: Handler
    every_seconds: float
    _next: float = 0.0


@dataclass
class PumpStats:
    invocations: int = 0
    records: int = 0
    failures: int = 0
    errors: list[str] = field(default_factory=list)


class EventPump:
    def __init__(
        self,
        clients: dict[str, Any],
        region: str,
        poll_wait_seconds: int = 1,
        invoke_lock: threading.Lock | None = None,
    ) -> None:
        self._sqs = clients["sqs"]
        self._streams = clients["dynamodbstreams"]
        self._region = region
        self._wait = poll_wait_seconds
        self.sqs: list[SqsMapping] = []
        self.streams: list[StreamMapping] = []
        self.schedules: list[ScheduleMapping] = []
        self.stats = PumpStats()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        # One invocation at a time, as in one Lambda execution environment: powertools' logger
        # keys and metric sets are per process, not per thread.
        self._invoke_lock = invoke_lock or threading.Lock()

    # -- invocation -------------------------------------------------------------------------

    def _invoke(self, name: str, handler: Handler, event: dict[str, Any]) -> Any:
        with self._lock:
            self.stats.invocations += 1
            self.stats.records += len(event.get("Records", []))
        # The mapping's own container, if it has one (found by name: tests wrap this method).
        mappings: list[SqsMapping | StreamMapping] = [*self.sqs, *self.streams]
        own = [m.lock for m in mappings if m.name == name and m.lock]
        try:
            with own[0] if own else self._invoke_lock:
                return handler(event, FakeLambdaContext(function_name=name))
        except Exception as err:
            with self._lock:
                self.stats.failures += 1
                self.stats.errors.append(f"{name}: {type(err).__name__}: {err}")
            raise

    # -- SQS ---------------------------------------------------------------------------------

    def poll_sqs_once(self, mapping: SqsMapping, wait_seconds: int = 0) -> int:
        """One receive and invocation; returns how many records were delivered."""
        response = self._sqs.receive_message(
            QueueUrl=mapping.queue_url,
            MaxNumberOfMessages=mapping.batch_size,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [self._sqs_record(mapping, m) for m in messages]}
        failed: set[str]
        try:
            result = self._invoke(mapping.name, mapping.handler, event)
            failed = {
                f["itemIdentifier"]
                for f in (result or {}).get("batchItemFailures", [])
                if isinstance(f, dict)
            }
        except Exception:
            failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        for i in range(0, len(done), 10):
            self._sqs.delete_message_batch(
                QueueUrl=mapping.queue_url,
                Entries=[
                    {"Id": str(j), "ReceiptHandle": m["ReceiptHandle"]}
                    for j, m in enumerate(done[i : i + 10])
                ],
            )
        return len(messages)

    def _sqs_record(self, mapping: SqsMapping, m: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m.get("Attributes", {}),
            "messageAttributes": {
                k: {
                    "stringValue": v.get("StringValue"),
                    "dataType": v.get("DataType"),
                    "stringListValues": [],
                    "binaryListValues": [],
                }
                for k, v in m.get("MessageAttributes", {}).items()
            },
            "md5OfBody": m.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": mapping.queue_arn,
            "awsRegion": self._region,
        }

    # -- DynamoDB streams ----------------------------------------------------------------------

    def poll_stream_once(self, mapping: StreamMapping) -> int:
        """Read every shard once from where it was left; returns records delivered."""
        if not mapping._iterators:
            shards = self._streams.describe_stream(StreamArn=mapping.stream_arn)[
                "StreamDescription"
            ]["Shards"]
            for shard in shards:
                if not mapping.owns(shard["ShardId"]):
                    continue
                mapping._iterators[shard["ShardId"]] = self._streams.get_shard_iterator(
                    StreamArn=mapping.stream_arn,
                    ShardId=shard["ShardId"],
                    ShardIteratorType="TRIM_HORIZON",
                )["ShardIterator"]
        delivered = 0
        for shard_id, iterator in list(mapping._iterators.items()):
            response = self._streams.get_records(ShardIterator=iterator, Limit=mapping.batch_size)
            records = response.get("Records", [])
            if response.get("NextShardIterator"):
                mapping._iterators[shard_id] = response["NextShardIterator"]
            if records:
                for r in records:
                    r.setdefault("eventSourceARN", mapping.stream_arn)
                    _jsonable(r)
                delivered += len(records)
                self._deliver_stream_batch(mapping, records)
        return delivered

    def _deliver_stream_batch(self, mapping: StreamMapping, records: list[dict[str, Any]]) -> None:
        pending = records
        for _attempt in range(mapping.max_retries + 1):
            try:
                result = self._invoke(mapping.name, mapping.handler, {"Records": pending})
                failed = [f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])]
            except Exception:
                failed = [pending[0]["dynamodb"]["SequenceNumber"]]
            if not failed:
                return
            # Lambda checkpoints before the lowest failed sequence number and retries from it.
            lowest = min(failed, key=int)
            pending = [r for r in pending if int(r["dynamodb"]["SequenceNumber"]) >= int(lowest)]
        if mapping.on_failure_queue_url:
            for r in pending:
                self._sqs.send_message(
                    QueueUrl=mapping.on_failure_queue_url,
                    MessageBody=json.dumps({"mapping": mapping.name, "record": r}, default=str),
                )

    # -- schedules -----------------------------------------------------------------------------

    def fire_schedule(self, mapping: ScheduleMapping) -> None:
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self._region,
            "resources": [f"arn:aws:events:{self._region}:123456789012:rule/{mapping.name}"],
            "detail": {},
        }
        self._invoke(mapping.name, mapping.handler, event)

    # -- running -------------------------------------------------------------------------------

    def drain(self, rounds: int = 50) -> int:
        """Deliver until nothing is pending (tests use this for determinism)."""
        total = 0
        for _ in range(rounds):
            n = sum(self.poll_sqs_once(m) for m in self.sqs)
            n += sum(self.poll_stream_once(m) for m in self.streams)
            total += n
            if n == 0:
                break
        return total

    def start(self) -> None:
        for m in self.sqs:
            self._spawn(f"sqs:{m.name}", self._sqs_loop, m)
        for s in self.streams:
            self._spawn(f"stream:{s.name}", self._stream_loop, s)
        if self.schedules:
            self._spawn("schedules", self._schedule_loop, None)

    def stop(self, timeout: float = 1.0) -> None:
        """Stop taking work; wait at most ``timeout`` in all for invocations in flight.

        One shared deadline, not one per thread (three threads once made Ctrl-C wait 15 s). An
        invocation still running is abandoned, as Lambda abandons one at its timeout: its SQS
        messages come back after the visibility timeout, its stream batch is read again.
        """
        self._stop.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))

    def _spawn(self, name: str, target: Callable[[Any], None], arg: Any) -> None:
        t = threading.Thread(target=target, args=(arg,), name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def _guard(self, step: Callable[[], int], idle_sleep: float) -> None:
        """Run ``step`` until stopped; after a step that found nothing, wait until
        ``idle_sleep`` has passed since it began (a cadence that a slow call does not stretch).
        """
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                if step() == 0 and idle_sleep:
                    self._stop.wait(max(0.0, began + idle_sleep - time.monotonic()))
            except Exception as err:
                with self._lock:
                    self.stats.errors.append(f"pump: {type(err).__name__}: {err}")
                self._stop.wait(0.5)

    def _sqs_loop(self, mapping: SqsMapping) -> None:
        self._guard(lambda: self.poll_sqs_once(mapping, self._wait), 0.0)

    def _stream_loop(self, mapping: StreamMapping) -> None:
        # Lambda reads each shard 4 times a second while it finds nothing, and again as soon as
        # an invocation returns (AWS Lambda guide, "Polling and batching streams").
        self._guard(lambda: self.poll_stream_once(mapping), 1.0 / STREAM_POLLS_PER_SECOND)

    def _schedule_loop(self, _: Any) -> None:
        def step() -> int:
            now = time.monotonic()
            for s in self.schedules:
                if now >= s._next:
                    s._next = now + s.every_seconds
                    # A failing schedule is counted in stats by _invoke; the others go on.
                    with contextlib.suppress(Exception):
                        self.fire_schedule(s)
            return 0

        self._guard(step, 0.5)


def _jsonable(record: dict[str, Any]) -> None:
    """boto3 returns datetimes for ApproximateCreationDateTime; Lambda sends epoch seconds."""
    d = record.get("dynamodb", {})
    created = d.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        d["ApproximateCreationDateTime"] = int(created.timestamp())
