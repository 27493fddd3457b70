"""Rebuild local/demo/posts.jsonl from ../shared/data/posts (deterministic; run by hand).

Takes, per leader, up to 100 posts that match the demo queries and 50 that do not, chosen by a
hash of the post id so the sample is stable. Ids become strings; the Modi timeline's ids were
stored as floats by its source and are kept as the integer those floats denote (lossy; flagged).
"""

from __future__ import annotations

import hashlib
import html
import json
import sys
from decimal import Decimal
from pathlib import Path

from chalicelib.domain.keywords import compile_queries
from local.demo import DEMO_DIR, load_demo_config

SOURCES = {
    "modi_timeline_2016_2017.jsonl": ("narendramodi", "Narendra Modi"),
    "kejriwal_timeline_2015_2017.jsonl": ("ArvindKejriwal", "Arvind Kejriwal"),
}
MATCHED_PER_LEADER = 100
UNMATCHED_PER_LEADER = 50


def _string_id(raw: str) -> tuple[str, bool]:
    if raw.isdigit():
        return raw, False
    return str(int(Decimal(raw))), True


def main(shared: Path) -> int:
    matcher = compile_queries(load_demo_config().queries)
    out: list[dict[str, object]] = []
    for name, (handle, display) in SOURCES.items():
        rows = [json.loads(line) for line in (shared / name).open(encoding="utf-8")]
        rows.sort(key=lambda r: hashlib.sha256(r["id"].encode()).hexdigest())
        matched: list[tuple[dict[str, str], str]] = []
        unmatched: list[tuple[dict[str, str], str]] = []
        for r in rows:
            text = html.unescape(r["text"])
            bucket = matched if matcher.match(text) else unmatched
            limit = MATCHED_PER_LEADER if bucket is matched else UNMATCHED_PER_LEADER
            if len(bucket) < limit:
                bucket.append((r, text))
        for r, text in sorted(matched + unmatched, key=lambda rt: rt[0]["created_at"]):
            native_id, lossy = _string_id(r["id"])
            out.append(
                {
                    "platform": "x",
                    "id": native_id,
                    "author": {"id": handle, "handle": handle, "name": display},
                    "created_at": r["created_at"],
                    "text": text,
                    "url": f"https://x.com/{handle}/status/{native_id}",
                    "source": {
                        "repo": r["source_repo"],
                        "commit": r["source_commit"],
                        "path": r["source_path"],
                        "id_is_lossy_float": lossy,
                    },
                }
            )
    target = DEMO_DIR / "posts.jsonl"
    with target.open("w", encoding="utf-8") as f:
        for post in out:
            f.write(json.dumps(post, ensure_ascii=False) + "\n")
    print(f"wrote {len(out)} posts to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/posts")))
