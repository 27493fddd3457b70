"""Cold start: import of app.py and the first analyze / API invocation, in fresh processes.

Runs the *packaged* code (build/<stage>/deployment.zip from ``make package``), unpacked twice:
as shipped (with the bytecode ``infra.build.add_bytecode`` adds) and with every .pyc removed,
which is what Lambda runs when the package has none (its /var/task is read-only, so Python
cannot cache what it compiles). Each child is ``python -S -E -B`` (it writes no bytecode
either): no site-packages, no venv, only the stdlib and the unpacked package, like Lambda.

The AWS side is a moto server (its own process) with the tables, queue and topics of the local
stack and the demo configuration; children reach it through ``AWS_ENDPOINT_URL``.

    python bench/coldstart.py [--runs 5] [--records 10] [--zip build/prod/deployment.zip]
    python bench/coldstart.py --importtime   # the slowest imports of app.py, without bytecode

Ends with one JSON line: medians in ms and the ratios without/with bytecode.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_IMPORT_MS = 400
TARGET_ANALYZE_MS = 700

# The child: everything it measures happens after the interpreter is up (Lambda's runtime
# bootstrap is not ours to optimise). It prints one JSON line.
CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[1])
mode = sys.argv[2]
# What Lambda imports: the API's handler is app.app, the event functions' the entry module.
if mode == "analyze":
    import chalicelib.lambda_entry as entry
else:
    import app
t1 = time.perf_counter()

class Context:
    function_name = "tvarit-" + mode
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:ap-south-1:123456789012:function:tvarit-" + mode
    aws_request_id = "bench-request"
    log_group_name = "/aws/lambda/tvarit-" + mode
    log_stream_name = "bench"
    def get_remaining_time_in_millis(self):
        return 30000

event = json.loads(sys.stdin.read())
# Time spent waiting on "AWS" (the moto server): reported apart, it is not our code's cost.
import botocore.endpoint as _endpoint
aws = [0.0, 0]
_send = _endpoint.Endpoint._send
def _timed_send(self, request):
    start = time.perf_counter()
    try:
        return _send(self, request)
    finally:
        aws[0] += time.perf_counter() - start
        aws[1] += 1
_endpoint.Endpoint._send = _timed_send
if mode == "analyze":
    result = entry.analyze_mentions(event, Context())
    failures = len(result["batchItemFailures"])
else:
    result = app.app(event, Context())
    failures = 0 if result["statusCode"] == 202 else 1
t2 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1e3, "total_ms": (t2 - t0) * 1e3,
                  "aws_ms": aws[0] * 1e3, "aws_calls": aws[1],
                  "failures": failures, "modules": len(sys.modules)}))
"""


def unpack(zip_path: Path, dest: Path, keep_bytecode: bool) -> Path:
    with zipfile.ZipFile(zip_path) as zf:
        names = [n for n in zf.namelist() if keep_bytecode or not n.endswith(".pyc")]
        zf.extractall(dest, members=names)
    return dest


def sqs_event(bodies: list[str], queue_arn: str) -> dict[str, Any]:
    """An SQS event as Lambda delivers it (attributes as strings, one messageId per record)."""
    now = str(int(time.time() * 1000))
    return {
        "Records": [
            {
                "messageId": f"bench-{i}",
                "receiptHandle": f"handle-{i}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": now,
                    "SenderId": "AROAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": now,
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "ap-south-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


def api_event(secret: str, post: dict[str, Any]) -> dict[str, Any]:
    """An API Gateway (REST, proxy) event for the signed webhook."""
    from chalicelib.domain.webhook import sign

    body = json.dumps(post, ensure_ascii=False)
    ts = int(time.time())
    headers = {
        "content-type": "application/json",
        "x-tvarit-timestamp": str(ts),
        "x-tvarit-signature": sign(secret, ts, body.encode()),
    }
    return {
        "resource": "/ingest/webhook",
        "path": "/ingest/webhook",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/ingest/webhook",
            "httpMethod": "POST",
            "path": "/api/ingest/webhook",
            "stage": "api",
            "requestId": "bench",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


# The same child under cProfile: where the first invocation's time goes (stderr).
PROFILED = (
    "import cProfile, pstats, sys\n"
    "p = cProfile.Profile(); p.enable()\n"
    "exec(compile(CHILD, 'child', 'exec'))\n"
    "p.disable()\n"
    "order = sys.argv[3] if len(sys.argv) > 3 else 'cumulative'\n"
    "pstats.Stats(p, stream=sys.stderr).sort_stats(order).print_stats(70)\n"
)


def run_child(
    python: str,
    pkg: Path,
    mode: str,
    event: dict[str, Any],
    env: dict[str, str],
    profile: bool = False,
) -> Any:
    code = f"CHILD = {CHILD!r}\n{PROFILED}" if profile else CHILD
    out = subprocess.run(
        [
            python,
            "-S",
            "-E",
            "-B",
            "-c",
            code,
            str(pkg),
            mode,
            *([os.environ.get("COLDSTART_PROFILE_ORDER", "cumulative")] if profile else []),
        ],
        input=json.dumps(event, ensure_ascii=False),
        capture_output=True,
        text=True,
        env=env,
        cwd=pkg,  # never the repository (its __pycache__)
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"child failed ({mode}):\n{out.stderr[-3000:]}")
    if profile:
        print(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def importtime(python: str, pkg: Path, env: dict[str, str], top: int = 20) -> None:
    out = subprocess.run(
        [
            python,
            "-S",
            "-E",
            "-B",
            "-X",
            "importtime",
            "-c",
            f"import sys; sys.path.insert(0, {str(pkg)!r}); import app",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    rows = []
    for line in out.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit():
            rows.append((int(parts[1]), int(parts[0]), parts[2].rstrip()))
    print(f"slowest imports of app.py (cumulative ms, self ms), {pkg.name}:")
    for cumulative, self_us, name in sorted(rows, reverse=True)[:top]:
        print(f"  {cumulative / 1e3:8.1f} {self_us / 1e3:8.1f}  {name}")


def fresh_aws(stack: Any) -> None:
    """Empty the moto server, then the stack's resources and the demo configuration again."""
    import urllib.request

    from chalicelib import settings as cfg
    from chalicelib import wiring
    from local.bootstrap import bootstrap
    from local.demo import load_demo_config, seed

    url = f"{stack.aws_url}/moto-api/reset"
    with urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST")):
        pass
    bootstrap(cfg.Settings.from_env(), stack.clients)
    wiring.use(wiring.Container(cfg.Settings.from_env()))
    seed(wiring.container().config_repo, load_demo_config())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--zip", type=Path, default=ROOT / "build" / "prod" / "deployment.zip")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--records", type=int, default=10, help="SQS batch size of the event")
    parser.add_argument("--importtime", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile one analyze child")
    args = parser.parse_args()
    if not args.zip.exists():
        print(f"{args.zip} is missing: run `make package` first", file=sys.stderr)
        return 2

    from chalicelib import wiring
    from chalicelib.domain.mention import mention_to_dict
    from chalicelib.domain.webhook import parse_posts
    from local.demo import load_demo_config, load_posts, seed
    from local.stack import LocalStack

    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="tvarit-coldstart-") as tmp:
        pyc = unpack(args.zip, Path(tmp) / "with-bytecode", keep_bytecode=True)
        nopyc = unpack(args.zip, Path(tmp) / "without-bytecode", keep_bytecode=False)
        base_env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
            "LANG": "C.UTF-8",
        }
        if args.importtime:
            importtime(python, nopyc, base_env)
            importtime(python, pyc, base_env)
            return 0

        stack = LocalStack(run_pump=False).start()
        try:
            seed(wiring.container().config_repo, load_demo_config())
            assert stack.resources is not None
            env = {
                **base_env,
                **{k: os.environ[k] for k in os.environ if k.startswith(("AWS_", "TVARIT_"))},
                "POWERTOOLS_METRICS_DISABLED": "true",
                "TVARIT_LOG_LEVEL": "WARNING",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
            }
            posts = load_posts()
            results: dict[str, dict[str, list[float]]] = {}
            serial = 0
            for _ in range(args.runs):
                for label, pkg in (("with", pyc), ("without", nopyc)):
                    # The same AWS state for every child: moto's queries slow down as tables
                    # fill, which would penalise whichever variant runs later.
                    fresh_aws(stack)
                    # Fresh posts each run: a first invocation analyzes, it does not dedupe.
                    bodies = []
                    for post in posts[serial : serial + args.records]:
                        fresh = {**post, "id": f"cold{serial}-{post['id']}"}
                        fresh.pop("source", None)
                        bodies.append(json.dumps(mention_to_dict(parse_posts(fresh)[0])))
                        serial += 1
                    if serial + args.records > len(posts):
                        serial = 0
                        posts = [{**p, "id": f"r{time.time_ns()}-{p['id']}"} for p in posts]
                    event = sqs_event(bodies, stack.resources.mentions_queue_arn)
                    if args.profile:
                        run_child(python, pyc, "analyze", event, env, profile=True)
                        return 0
                    analyze = run_child(python, pkg, "analyze", event, env)
                    post = {
                        k: posts[serial][k]
                        for k in ("platform", "id", "author", "created_at", "text")
                    }
                    post["id"] = f"api{time.time_ns()}"
                    api = run_child(python, pkg, "api", api_event(stack.webhook_secret, post), env)
                    if analyze["failures"] or api["failures"]:
                        raise RuntimeError(f"handler reported failures: {analyze} {api}")
                    r = results.setdefault(label, {})
                    # The API imports app.py; an event function only its entry module
                    # (chalicelib/event_app.py): two rows, not one median of both.
                    r.setdefault("import", []).append(api["import_ms"])
                    r.setdefault("import_events", []).append(analyze["import_ms"])
                    r.setdefault("analyze", []).append(analyze["total_ms"])
                    r.setdefault("analyze_aws", []).append(analyze["aws_ms"])
                    r.setdefault("analyze_calls", []).append(analyze["aws_calls"])
                    r.setdefault("api", []).append(api["total_ms"])
        finally:
            stack.stop()
            shutil.rmtree(tmp, ignore_errors=True)

    med = {label: {k: statistics.median(v) for k, v in r.items()} for label, r in results.items()}
    print(f"cold start, median of {args.runs} fresh processes, package {args.zip}")
    print(f"{'':28}{'with .pyc':>12}{'without':>12}{'ratio':>8}")
    rows = (
        ("import app (API)", "import"),
        ("import event entry", "import_events"),
        (f"import + analyze ({args.records} rec)", "analyze"),
        ("import + API webhook", "api"),
    )
    for title, key in rows:
        w, wo = med["with"][key], med["without"][key]
        print(f"{title:28}{w:10.0f}ms{wo:10.0f}ms{wo / w:7.2f}x")
    aws_ms, calls = med["with"]["analyze_aws"], med["with"]["analyze_calls"]
    print(
        f"  of the first analyze with .pyc: {aws_ms:.0f} ms waiting on the moto server "
        f"({calls:.0f} calls); without that wait {med['with']['analyze'] - aws_ms:.0f} ms"
    )
    ok_import = med["with"]["import"] <= TARGET_IMPORT_MS
    ok_analyze = med["with"]["analyze"] <= TARGET_ANALYZE_MS
    verdict = {True: "met", False: "MISSED"}
    print(
        f"targets with bytecode: import <= {TARGET_IMPORT_MS} ms: {verdict[ok_import]}; "
        f"import + first analyze <= {TARGET_ANALYZE_MS} ms: {verdict[ok_analyze]}"
    )
    summary = {
        "import_app_ms": round(med["with"]["import"], 1),
        "import_app_ms_no_pyc": round(med["without"]["import"], 1),
        "import_event_entry_ms": round(med["with"]["import_events"], 1),
        "import_event_entry_ms_no_pyc": round(med["without"]["import_events"], 1),
        "first_analyze_ms": round(med["with"]["analyze"], 1),
        "first_analyze_ms_no_pyc": round(med["without"]["analyze"], 1),
        "first_analyze_aws_wait_ms": round(aws_ms, 1),
        "first_analyze_aws_calls": calls,
        "first_api_ms": round(med["with"]["api"], 1),
        "first_api_ms_no_pyc": round(med["without"]["api"], 1),
        "import_ratio_no_pyc": round(med["without"]["import"] / med["with"]["import"], 2),
        "analyze_ratio_no_pyc": round(med["without"]["analyze"] / med["with"]["analyze"], 2),
        "targets_met": ok_import and ok_analyze,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
