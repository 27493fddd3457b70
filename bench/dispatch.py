"""Dispatch bench: route incidents and plan SNS publishes for a national-scale organisation.

Organisation: 50,000 teams of 10 warriors (500,000) over the 36 states and union territories,
about 20 districts per state. Measures, in one run on one core:

* routing 10,000 incidents through a realistic route tree (incidents/s);
* SNS API calls for one incident sent to every team in every state, counted by a recording
  publisher: one entry per (state topic, incident, version, delivery language) whose
  ``team_ids`` attribute names the teams (``@state``/``@district`` tokens for whole audiences)
  and whose link is the incident link each reader's page resolves to their own task; also
  without tokens (explicit team ids, split by the 256 KB limit); against one entry per (task,
  language) each linking its own task page, packed ten to a call, and one Publish per warrior;
* mean SNS calls per routed incident over a sample of the 10,000.

Ends with one JSON line of headline figures. Run: ``make bench-dispatch``.
"""

from __future__ import annotations

import json
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from chalicelib.domain.notify import (
    BATCH_MAX_ENTRIES,
    Outbound,
    Publish,
    build_entry,
    delivery_languages,
    notices_for_tasks,
    plan_publishes,
)
from chalicelib.domain.org import Team
from chalicelib.domain.routing import TeamDirectory, parse_route_config
from chalicelib.domain.states import STATE_CODES
from chalicelib.domain.tasks import Task, task_id_for

N_TEAMS = 50_000
WARRIORS_PER_TEAM = 10
N_INCIDENTS = 10_000
SAMPLE_FOR_CALLS = 300
T0 = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)

CONFIG = {
    "route": {
        "name": "default: every team of the leader's state",
        "receivers": [{"teams_of": "state"}],
        "routes": [
            {
                "name": "national crisis",
                "matchers": ["severity=5", "category=~gaffe|scandal"],
                "receivers": [{"teams_of": "all"}],
            },
            {
                "name": "video desk",
                "matchers": ["platform=youtube"],
                "receivers": ["UP-00001", "MH-00001", "DL-00001"],
                "continue": True,
            },
            {
                "name": "hindi belt, high severity",
                "matchers": ["state=~UP|BR|MP|RJ|HR|DL", "severity=~4|5"],
                "receivers": [{"teams_of": "state"}],
            },
            {
                "name": "low severity: district only",
                "matchers": ["severity=~1|2"],
                "receivers": [{"teams_of": "district"}],
            },
            {
                "name": "opposition watch",
                "matchers": ["party!=ours", "category=policy"],
                "receivers": [{"teams_of": "district"}],
                "routes": [{"matchers": ["language!~en.*"], "receivers": [{"teams_of": "state"}]}],
            },
        ],
    }
}


@dataclass
class RecordingPublisher:
    """Stands in for SNS: counts API calls and messages instead of sending them."""

    calls: int = 0
    messages: int = 0
    by_api: dict[str, int] = field(default_factory=dict)

    def send(self, call: Publish) -> None:
        self.calls += 1
        self.messages += len(call.entries)
        self.by_api[call.api] = self.by_api.get(call.api, 0) + 1


def build_org(rng: random.Random) -> list[Team]:
    # Uneven state sizes, like the real country: weights between 1 and 20.
    weights = {s: rng.randint(1, 20) for s in STATE_CODES}
    total = sum(weights.values())
    counts = {s: max(1, N_TEAMS * w // total) for s, w in weights.items()}
    biggest = max(counts, key=lambda s: counts[s])
    counts[biggest] += N_TEAMS - sum(counts.values())
    teams: list[Team] = []
    for state, n in counts.items():
        for i in range(1, n + 1):
            teams.append(
                Team(f"{state}-{i:05d}", "", state, f"D{i % 20:02d}", lead_id=f"{state}-{i}-L")
            )
    return teams


def make_labels(rng: random.Random) -> dict[str, str]:
    return {
        "state": rng.choice(STATE_CODES),
        "district": f"D{rng.randrange(20):02d}",
        "party": rng.choice(["ours", "ours", "theirs"]),
        "category": rng.choice(["gaffe", "policy", "scandal", "praise", "general"]),
        "severity": str(rng.choices([1, 2, 3, 4, 5], weights=[20, 25, 30, 20, 5])[0]),
        "language": rng.choice(["hi", "en", "hi-Latn", "mr", "ta", "bn"]),
        "platform": rng.choice(["x", "x", "youtube", "facebook", "telegram"]),
    }


def tasks_for(incident: str, team_ids: list[str], teams: dict[str, Team], sev: int) -> list[Task]:
    return [
        Task(
            task_id=task_id_for(tid, incident),
            team_id=tid,
            state=teams[tid].state,
            incident_key=incident,
            mention_key="x#1",
            created_at=T0,
            district=teams[tid].district,
            severity=sev,
            leader_name="A. Leader",
            category="gaffe",
            excerpt="प्रधानमंत्री ने कहा कि अर्थव्यवस्था ठीक है और गरीब खुद संभाल लेंगे",
            url="https://x.com/a/status/1",
        )
        for tid in team_ids
    ]


def main() -> int:
    rng = random.Random(6)
    teams = build_org(rng)
    by_id = {t.id: t for t in teams}
    directory = TeamDirectory.build(teams)
    tree = parse_route_config(CONFIG)
    incidents = [make_labels(rng) for _ in range(N_INCIDENTS)]
    warriors = len(teams) * WARRIORS_PER_TEAM
    print(
        f"organisation: {len(teams):,} teams, {warriors:,} warriors, "
        f"{len(directory.by_state)} states"
    )

    # 1. routing throughput
    start = time.perf_counter()
    routed = [tree.resolve(lab, directory) for lab in incidents]
    route_s = time.perf_counter() - start
    team_tasks = sum(len(tg.team_ids) for r in routed for tg in r)
    print(
        f"routing: {N_INCIDENTS:,} incidents in {route_s:.3f} s = {N_INCIDENTS / route_s:,.0f}/s "
        f"({team_tasks:,} team tasks chosen)"
    )

    # baseline: the interim router, a scan of every team per incident (state match only)
    scan_n = 300
    start = time.perf_counter()
    for lab in incidents[:scan_n]:
        [t.id for t in teams if t.state == lab["state"]]
    scan_s = (time.perf_counter() - start) * N_INCIDENTS / scan_n
    print(
        f"baseline: scanning all teams per incident ~{scan_s:.2f} s for {N_INCIDENTS:,} "
        f"(measured on {scan_n}); route tree is {scan_s / route_s:,.0f}x faster"
    )

    # 2. one incident to every team in every state
    everyone = [t.id for t in teams]
    start = time.perf_counter()
    all_tasks = tasks_for("inc_all", everyone, by_id, 5)
    build_s = time.perf_counter() - start
    outbound = Outbound("https://tvarit.example.in")
    start = time.perf_counter()
    plan = plan_publishes(all_tasks, outbound, directory=directory)
    plan_s = time.perf_counter() - start
    recorder = RecordingPublisher()
    for call in plan:
        recorder.send(call)
    biggest = max(c.size for c in plan)
    total_bytes = sum(c.size for c in plan)
    entries = sum(len(c.entries) for c in plan)
    # SNS bills a publish per started 64 KB of payload, a batch's entries counted together
    billed = sum(-(-c.size // 65_536) for c in plan)
    start = time.perf_counter()
    untokened = plan_publishes(all_tasks, outbound)  # explicit team ids, no @state tokens
    untok_s = time.perf_counter() - start
    untok = RecordingPublisher()
    for call in untokened:
        untok.send(call)
    untok_bytes = sum(c.size for c in untokened)

    # per-task baseline: one entry per (task, language) linking its own task page, ten to a
    # call per state topic; rendered on a slice, counted in full
    slice_n = 2_000
    naive = RecordingPublisher()
    per_task_bytes = 0
    start = time.perf_counter()
    for t in all_tasks[: slice_n // 2]:
        for n in notices_for_tasks([t], outbound):
            entry = build_entry(n, outbound)
            per_task_bytes += entry.size
            naive.send(Publish(n.state, (entry,)))
    naive_slice_s = time.perf_counter() - start
    naive_calls = sum(len(delivery_languages(t.state)) for t in all_tasks)  # one per entry
    per_state: dict[str, int] = {}
    for t in all_tasks:
        per_state[t.state] = per_state.get(t.state, 0) + len(delivery_languages(t.state))
    per_task_calls = sum(-(-k // BATCH_MAX_ENTRIES) for k in per_state.values())
    per_task_mb = per_task_bytes / naive.calls * naive_calls / 1e6
    naive_s = naive_slice_s * naive_calls / naive.calls
    print(
        f"all teams: {recorder.calls} SNS calls ({recorder.messages} messages, {recorder.by_api}) "
        f"planned in {plan_s:.3f} s (+{build_s:.3f} s building {len(all_tasks):,} tasks); "
        f"largest call {biggest:,} bytes, {total_bytes / 1e6:,.2f} MB in all, "
        f"{billed:,} billed 64 KB requests"
    )
    print(
        f"without @state tokens: {untok.calls} calls ({untok.messages} messages), "
        f"{untok_bytes / 1e6:,.2f} MB, planned in {untok_s:.3f} s"
    )
    print(
        f"per task (each entry links its own task page): {naive_calls:,} entries in "
        f"{per_task_calls:,} calls, ~{per_task_mb:,.0f} MB (~{naive_s:.1f} s to render, "
        f"extrapolated from {naive.calls:,}); one Publish per warrior = {warriors:,} calls"
    )
    ratio = per_task_calls / recorder.calls
    print(
        f"ratio: {ratio:,.0f}x fewer calls than per-task entries, "
        f"{warriors / recorder.calls:,.0f}x fewer than per-warrior"
    )

    # 3. calls per routed incident, on a sample
    sample = rng.sample(range(N_INCIDENTS), SAMPLE_FOR_CALLS)
    per_incident: list[int] = []
    for k in sample:
        ids = [tid for tg in routed[k] for tid in tg.team_ids]
        if not ids:
            per_incident.append(0)
            continue
        calls = plan_publishes(tasks_for(f"inc_{k}", ids, by_id, 3), outbound, directory=directory)
        per_incident.append(len(calls))
    mean_calls = sum(per_incident) / len(per_incident)
    print(
        f"calls per incident (sample of {SAMPLE_FOR_CALLS}): mean {mean_calls:.2f}, "
        f"max {max(per_incident)}, no-team incidents {per_incident.count(0)}"
    )
    headline = {
        "teams": len(teams),
        "warriors": warriors,
        "states": len(directory.by_state),
        "route_incidents": N_INCIDENTS,
        "route_seconds": round(route_s, 4),
        "route_incidents_per_s": round(N_INCIDENTS / route_s),
        "route_speedup_vs_team_scan": round(scan_s / route_s, 1),
        "all_teams_sns_calls": recorder.calls,
        "all_teams_entries": entries,
        "all_teams_megabytes": round(total_bytes / 1e6, 2),
        "all_teams_billed_requests": billed,
        "all_teams_sns_calls_without_tokens": untok.calls,
        "per_task_entries": naive_calls,
        "per_task_calls": per_task_calls,
        "call_ratio_vs_per_task": round(ratio, 1),
        "plan_all_teams_seconds": round(plan_s, 4),
        "mean_sns_calls_per_incident": round(mean_calls, 3),
    }
    print(json.dumps(headline, sort_keys=True))
    # One call per state topic: the promise in docs/ARCHITECTURE.md.
    return 0 if recorder.calls <= len(directory.by_state) else 1


if __name__ == "__main__":
    sys.exit(main())
