"""Lambda throttling (docs/operations.md): the SQS triggers cap their concurrency, so a busy
hour slows the queue's consumers instead of throttled receives pushing posts to the DLQ."""

from __future__ import annotations

from infra.stack import QUEUES, sqs_trigger_patches


def test_every_sqs_trigger_caps_its_concurrency() -> None:
    import app

    sources = [e for e in app.app.event_sources if type(e).__name__ == "SQSEventConfig"]
    patches = sqs_trigger_patches(sources)
    assert len(patches) == len(sources) >= 2
    caps = [
        event["Properties"]["ScalingConfig"]["MaximumConcurrency"]
        for patch in patches.values()
        for event in patch["Events"].values()
    ]
    assert len(caps) == len(sources)
    assert all(2 <= cap <= 1000 for cap in caps)  # Lambda's allowed range is 2..1000
    assert {q.name for q in QUEUES if q.max_concurrency} >= {s.queue for s in sources}
