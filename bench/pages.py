"""``make bench-pages``: bytes of the task page and the inbox, and their server render time
against the plain JSON of the same task (``GET /tasks/{id}``), measured in the same run; and
the cell heads' console pages (a state with 50 watched leaders, 20 queries) against the API's
JSON of the same data (``GET /watchlist``, ``/keyword-queries``, ``/routes``, ``/audit``).
The console's stats page for a state of 5,000 teams with 30 days of rollup is measured too
(``STATS_TEAMS``): it must render from the rollup alone (task reads: 0), against the JSON of
its own series (``GET /stats/daily``) and the task-reading ``GET /stats`` of the same state.

Runs the whole app in process (chalice.test.Client: middleware, token verification, handler)
over the in-memory fakes the functional tests use, so the times are the pages' own cost, not
storage latency; the storage reads each response makes are counted instead (in AWS each is a
DynamoDB round trip of a few milliseconds, which outweighs rendering). Bytes: raw and gzip
(what API Gateway or CloudFront send with compression on), and a first visit's total for the
task page (HTML + CSS + JS; the post's media excluded, as the budget says). Ends with one JSON
line of headline figures.
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chalice.test import Client  # noqa: E402

from chalicelib import wiring  # noqa: E402
from chalicelib.adapters.jwt_tokens import DEV_AUDIENCE, DevIssuer  # noqa: E402
from chalicelib.domain.analysis import WatchConfig, analyze  # noqa: E402
from chalicelib.domain.keywords import compile_queries  # noqa: E402
from chalicelib.domain.language import detect  # noqa: E402
from chalicelib.domain.org import Member  # noqa: E402
from chalicelib.domain.tasks import Task, TaskStatus, task_id_for  # noqa: E402
from chalicelib.services.config_cache import CachedConfig  # noqa: E402
from chalicelib.settings import Settings  # noqa: E402
from tests.factories import T0, make_leader, make_mention, make_query, make_team  # noqa: E402
from tests.fakes import (  # noqa: E402
    InMemoryConfigRepository,
    InMemoryMentionRepository,
    InMemoryTaskRepository,
)
from tests.seeding import seed  # noqa: E402

READS = frozenset(
    {
        "get",
        "get_item",
        "list_items",
        "events",
        "list_by_team",
        "get_many",
        "audit_log",
        "days",
        "teams",
    }
)
ROUNDS = 400
STATS_TEAMS = 5000
STATS_ROUNDS = 20


class ReadOnlyConfig(InMemoryConfigRepository):
    """The fake without its defensive deep copies (pages only read): a 50-member team's copy
    would otherwise be most of what is measured, and DynamoDB costs a round trip instead."""

    def get_item(self, pk: str, sk: str) -> Any:
        return self.items.get((pk, sk))


class Counted:
    """Counts the storage reads a response makes (each one a DynamoDB round trip in AWS);
    ``task_reads``: those of the tasks repository alone."""

    reads = 0
    task_reads = 0

    def __init__(self, inner: Any, tasks: bool = False) -> None:
        self._inner = inner
        self._tasks = tasks

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in READS:
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            Counted.reads += 1
            Counted.task_reads += self._tasks
            return attr(*args, **kwargs)

        return counted


BUDGET = 60 * 1024
TEXT = (
    "मोदी जी तो कह रहे थे कि नोटबंदी के बाद काला धन ख़त्म हो गया। 50 दिन माँगे थे, "
    "आज दो साल हो गए। black money कहाँ है? demonetisation ने छोटे व्यापारियों को तबाह किया। "
) * 3  # a long post, near X's limit


def world(issuer: DevIssuer) -> tuple[str, str]:
    config = ReadOnlyConfig()
    mentions = InMemoryMentionRepository()
    tasks = InMemoryTaskRepository()
    brief = {
        "hi": "तथ्य रखें: RBI की 2018 की रिपोर्ट के अनुसार 99.3% नोट वापस आए।\nशालीन रहें।",
        "en": "Stick to facts: the RBI's 2018 report says 99.3% of notes came back.\nStay civil.",
    }
    query = make_query(brief=brief)
    seed(config, query)
    members = tuple(
        Member(f"w-{n}", f"Warrior {n}", "DL-CENTRAL-01", languages=("hi",)) for n in range(50)
    )
    seed(config, make_team("DL-CENTRAL-01", "DL", members=members))
    leader = make_leader()
    mention = make_mention(text=TEXT)
    watch = WatchConfig.build("1", [leader], [query], compile_queries([query]))
    analyzed = analyze(mention, detect(TEXT), watch, T0, timedelta(days=30), timedelta(days=365))
    mentions.put_new(analyzed, "bench")
    first = ""
    for n in range(30):  # a busy inbox: 30 open tasks
        task = Task(
            task_id=task_id_for("DL-CENTRAL-01", f"x#{n}"),
            team_id="DL-CENTRAL-01",
            state="DL",
            incident_key=f"x#{n}",
            mention_key=mention.key,
            created_at=T0 + timedelta(minutes=n),
            status=TaskStatus.DISPATCHED,
            version=2,
            leader_id=leader.id,
            leader_name=leader.name,
            query_ids=(query.id,),
            category="economy",
            severity=4,
            lang="hi",
            excerpt=TEXT[:140],
            url=mention.url,
            mention_count=n + 1,
            priority=float(n),
        )
        tasks.create(task)
        first = first or task.task_id
    settings = Settings(
        stage="bench",
        region="ap-south-1",
        endpoint_url=None,
        table_prefix="bench-",
        mentions_queue_url="",
        state_topic_arn_prefix="",
        webhook_secret="",
        jwt_issuer=issuer.issuer,
        jwt_audience=DEV_AUDIENCE,
        jwks=json.dumps(issuer.jwks()),
        public_base_url="https://tvarit.example.in",
    )
    wiring.use(
        wiring.Container(
            settings,
            mentions=Counted(mentions),
            tasks=Counted(tasks, tasks=True),
            rollups=Counted(stats_rollup(config)),
            config_repo=Counted(config),
            config=CachedConfig(config, 30.0, time.monotonic),
            cursor_store=seed_console(config, mentions),
            wall_time=lambda: T0.timestamp(),
        )
    )
    claims = {"sub": "w-1", "custom:role": "warrior", "custom:team": "DL-CENTRAL-01"}
    return first, issuer.mint(claims, datetime.now(UTC), ttl_seconds=3600)


def stats_rollup(config: InMemoryConfigRepository) -> Any:
    """Rajasthan with ``STATS_TEAMS`` teams and 30 days of rollup: each team had a task on
    about one day in three; a tenth never respond. The teams are stored too (the legacy
    ``GET /stats`` lists them, then reads every team's tasks)."""
    from chalicelib.domain.rollup import Contribution, window
    from chalicelib.services.rollup import InMemoryRollupStore

    seed(
        config,
        *(
            make_team(f"RJ-T{t:04d}", "RJ", district=f"D{t % 33:02d}", members=())
            for t in range(STATS_TEAMS)
        ),
    )
    store = InMemoryRollupStore()
    days = window(datetime.now(UTC).date(), 30)
    expires = datetime.now(UTC)
    for t in range(STATS_TEAMS):
        team, district = f"RJ-T{t:04d}", f"D{t % 33:02d}"
        for d, day in enumerate(days):
            if (t + d) % 3:
                continue
            task = f"{team}-{day}"
            store.add(Contribution("task", task, "RJ", district, team, day), expires)
            if t % 10:
                ack = 60.0 * (1 + (t * 7 + d) % 45)
                store.add(Contribution("ack", task, "RJ", district, team, day, ack), expires)
                if t % 4:
                    done = ack + 600.0 * (1 + (t + d) % 9)
                    store.add(Contribution("done", task, "RJ", district, team, day, done), expires)
    return store


LEADERS = 50  # a state's watchlist: 50 leaders, 3 accounts each, every account polled
CONSOLE_ROUNDS = 100
HEAD = {"sub": "head-dl", "custom:role": "state_head", "custom:state": "DL", "name": "Head"}


def seed_console(config: Any, mentions: Any) -> Any:
    """What the console pages read: a watchlist with poll states, queries, chains, audit."""
    from chalicelib.domain.org import Account
    from chalicelib.services.polling import InMemoryCursorStore, PollState, with_units

    cursors = InMemoryCursorStore()
    now = T0.timestamp()
    for n in range(LEADERS):
        accounts = (
            Account("x", f"leader{n}", str(1000 + n)),
            Account("bluesky", f"leader{n}.bsky.social"),
            Account("telegram", f"leader{n}"),
        )
        seed(config, make_leader(id=f"leader-{n:02d}", name=f"Leader {n}", accounts=accounts))
        state = with_units(PollState(last_success_at=now - 60), "x", 3, now - 60)
        cursors.save(f"x#{1000 + n}", state)
        failing = with_units(PollState(failures=2, last_error="HTTP 502"), "bluesky", 1, now)
        cursors.save(f"bluesky#leader{n}.bsky.social", failing)
    for n in range(20):
        seed(config, make_query(id=f"q-{n:02d}", name=f"Query {n}", scope="DL"))
    return cursors


def timed(
    client: Client, path: str, headers: dict[str, str], rounds: int = ROUNDS
) -> tuple[list[float], Any, int]:
    Counted.reads = 0
    Counted.task_reads = 0
    response = client.http.get(path, headers=headers)  # warm: first render reads templates
    assert response.status_code == 200, (path, response.status_code)
    reads = Counted.reads
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        response = client.http.get(path, headers=headers)
        times.append((time.perf_counter() - began) * 1000)
    return times, response, reads


def body_bytes(response: Any) -> bytes:
    body = response.body
    return body if isinstance(body, bytes) else str(body).encode()


def main() -> int:
    issuer = DevIssuer.generate()
    task_id, token = world(issuer)
    from app import app

    bearer = {"Authorization": f"Bearer {token}"}
    cookie = {"Cookie": f"tvarit_session={token}"}
    head = issuer.mint(
        {"sub": "head-rj", "custom:role": "state_head", "custom:state": "RJ"},
        datetime.now(UTC),
        ttl_seconds=3600,
    )
    with Client(app) as client:
        results: dict[str, tuple[list[float], bytes]] = {}
        reads: dict[str, int] = {}
        for name, path, headers in (
            ("json", f"/tasks/{task_id}", bearer),
            ("task_page", f"/t/{task_id}", cookie),
            ("inbox", "/t", cookie),
        ):
            times, response, reads[name] = timed(client, path, headers)
            results[name] = (times, body_bytes(response))
        task_reads: dict[str, int] = {}
        for name, path, headers in (
            (
                "stats_daily_json",
                "/stats/daily?state=RJ&days=30",
                {"Authorization": f"Bearer {head}"},
            ),
            ("stats_page", "/console/stats?state=RJ&days=30", {"Cookie": f"tvarit_session={head}"}),
            ("stats_json_from_tasks", "/stats?state=RJ", {"Authorization": f"Bearer {head}"}),
        ):
            times, response, reads[name] = timed(client, path, headers, STATS_ROUNDS)
            task_reads[name] = Counted.task_reads // (STATS_ROUNDS + 1)
            results[name] = (times, body_bytes(response))
        page = results["task_page"][1].decode()
        statics = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
        static_bytes = {p: body_bytes(client.http.get(p)) for p in statics}
        head_token = issuer.mint(HEAD, datetime.now(UTC), ttl_seconds=3600)
        head_bearer = {"Authorization": f"Bearer {head_token}"}
        head_cookie = {"Cookie": f"tvarit_session={head_token}; tvarit_lang=hi"}
        # Each console page, and the JSON the API answers for the same data (the baseline).
        for name, path, headers in (
            ("console_home", "/console", head_cookie),
            ("console_watchlist", "/console/watchlist", head_cookie),
            ("watchlist_json", "/watchlist?limit=50", head_bearer),
            ("console_queries", "/console/queries", head_cookie),
            ("queries_json", "/keyword-queries?limit=100", head_bearer),
            ("console_query_editor", "/console/queries/q-00", head_cookie),
            ("console_routes", "/console/routes", head_cookie),
            ("routes_json", "/routes", head_bearer),
            ("console_chains", "/console/chains", head_cookie),
            ("console_audit", "/console/audit", head_cookie),
            ("audit_json", "/audit?limit=25", head_bearer),
        ):
            times, response, reads[name] = timed(client, path, headers, CONSOLE_ROUNDS)
            results[name] = (times, body_bytes(response))
        console_page = results["console_query_editor"][1].decode()
        for p in re.findall(r'(?:href|src)="(/static/console[^"]+)"', console_page):
            static_bytes[p] = body_bytes(client.http.get(p))
    print(f"{'response':<22}{'raw bytes':>10}{'gzip':>8}{'median ms':>11}{'p95 ms':>8}{'reads':>7}")
    headline: dict[str, Any] = {}
    for name, (times, body) in results.items():
        med = statistics.median(times)
        p95 = statistics.quantiles(times, n=20)[18]
        zipped = len(gzip.compress(body))
        print(f"{name:<22}{len(body):>10}{zipped:>8}{med:>11.2f}{p95:>8.2f}{reads[name]:>7}")
        headline[f"{name}_reads"] = reads[name]
        headline[f"{name}_ms"] = round(med, 2)
        headline[f"{name}_bytes"] = len(body)
        headline[f"{name}_gzip_bytes"] = zipped
    for path, body in static_bytes.items():
        print(f"{path.rsplit('/', 1)[1]:<22}{len(body):>10}{len(gzip.compress(body)):>8}")
    task_statics = [b for p, b in static_bytes.items() if "/static/console" not in p]
    first_visit_raw = len(results["task_page"][1]) + sum(len(b) for b in task_statics)
    first_visit_gzip = len(gzip.compress(results["task_page"][1])) + sum(
        len(gzip.compress(b)) for b in task_statics
    )
    json_ms = statistics.median(results["json"][0])
    headline.update(
        {
            "task_page_first_visit_raw_bytes": first_visit_raw,
            "task_page_first_visit_gzip_bytes": first_visit_gzip,
            "budget_bytes": BUDGET,
            "within_budget_uncompressed": first_visit_raw <= BUDGET,
            "task_page_vs_json": round(statistics.median(results["task_page"][0]) / json_ms, 2),
            "inbox_vs_json": round(statistics.median(results["inbox"][0]) / json_ms, 2),
            "rounds": ROUNDS,
            "stats_teams": STATS_TEAMS,
            "stats_page_task_reads": task_reads["stats_page"],
            "stats_json_from_tasks_task_reads": task_reads["stats_json_from_tasks"],
            "stats_page_vs_its_json": round(
                statistics.median(results["stats_page"][0])
                / statistics.median(results["stats_daily_json"][0]),
                2,
            ),
            "stats_page_vs_stats_from_tasks": round(
                statistics.median(results["stats_page"][0])
                / statistics.median(results["stats_json_from_tasks"][0]),
                2,
            ),
            "console_rounds": CONSOLE_ROUNDS,
            "console_watchlist_leaders": LEADERS,
        }
    )
    for page, baseline in (
        ("console_watchlist", "watchlist_json"),
        ("console_queries", "queries_json"),
        ("console_routes", "routes_json"),
        ("console_audit", "audit_json"),
    ):
        ratio = statistics.median(results[page][0]) / statistics.median(results[baseline][0])
        headline[f"{page}_vs_json"] = round(ratio, 2)
    print(
        "console pages vs the API's JSON of the same data: "
        + ", ".join(
            f"{k[:-8]} x{v}"
            for k, v in headline.items()
            if k.startswith("console_") and k.endswith("_vs_json")
        )
    )
    print(
        f"\ntask page, first visit (HTML + CSS + JS): {first_visit_raw} B raw, "
        f"{first_visit_gzip} B gzip; budget {BUDGET} B"
    )
    print(
        f"render vs the JSON of the same task: task page x{headline['task_page_vs_json']}, "
        f"inbox (30 tasks) x{headline['inbox_vs_json']}"
    )
    print(
        f"stats page, {STATS_TEAMS} teams, 30 days: {task_reads['stats_page']} task reads "
        f"(GET /stats of the same state: {task_reads['stats_json_from_tasks']}); "
        f"x{headline['stats_page_vs_its_json']} its JSON series"
    )
    assert task_reads["stats_page"] == 0, "the stats page read tasks"
    print(json.dumps(headline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
