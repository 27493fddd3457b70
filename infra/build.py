"""Build the deployment: policies, merge template, ``chalice package``, bytecode in the zip.

    python -m infra.build policies          # (re)write .chalice/policy-*.json from infra/stack.py
    python -m infra.build package --stage prod --out build/prod [--template-only]

``--template-only`` packages a copy of the app without ``requirements.txt``: Chalice then calls no
pip at all, so the template is produced offline in about a second (what the tests check). The full
package installs the requirements from the wheel cache (``make wheelhouse``) with no index.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHALICE_DIR = ROOT / ".chalice"
WHEELHOUSE = ROOT / ".wheelhouse"
LAMBDA_PYTHON = (3, 11)  # the functions' runtime; bytecode is only valid for this version
FIXED_DATE = (2020, 1, 1, 0, 0, 0)  # zip entries get one date: the package is reproducible


def write_policies(check: bool = False) -> list[str]:
    """Write (or, with ``check``, compare) the policy files; returns the names that differ."""
    from infra.stack import policies

    stale = []
    for name, document in policies().items():
        path = CHALICE_DIR / name
        text = json.dumps(document, indent=2, sort_keys=True) + "\n"
        if not path.exists() or path.read_text() != text:
            stale.append(name)
            if not check:
                path.write_text(text)
    return stale


def write_merge_template(stage: str, out: Path) -> Path:
    from infra.stack import chalice_function_names, function_named, merge_template

    # The app's event sources decide which SQS triggers get patched.
    sys.path.insert(0, str(ROOT))
    import app

    for name in sorted(chalice_function_names(app.app)):
        function_named(name)  # every function has declared grants (and a policy file)

    out.mkdir(parents=True, exist_ok=True)
    path = out / "merge.json"
    path.write_text(json.dumps(merge_template(stage, app.app), indent=1) + "\n")
    return path


def _app_copy(dest: Path, with_requirements: bool) -> Path:
    """A project dir with only what Chalice packages (plus its config)."""
    shutil.copy2(ROOT / "app.py", dest / "app.py")
    shutil.copytree(
        ROOT / "chalicelib", dest / "chalicelib", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(
        CHALICE_DIR, dest / ".chalice", ignore=shutil.ignore_patterns("deployments", "venv")
    )
    if with_requirements:
        shutil.copy2(ROOT / "requirements.txt", dest / "requirements.txt")
    return dest


def chalice_package(stage: str, out: Path, template_only: bool = False) -> Path:
    """Run ``chalice package --merge-template``; returns the output directory."""
    stale = write_policies(check=True)
    if stale:
        raise SystemExit(f"stale IAM policies {stale}: run `python -m infra.build policies`")
    out = out.resolve()
    merge = write_merge_template(stage, out.parent / f"{out.name}-merge")
    env = dict(os.environ)
    env.setdefault("AWS_DEFAULT_REGION", "ap-south-1")  # chalice wants one; the stack ignores it
    if not template_only:
        if not WHEELHOUSE.is_dir():
            raise SystemExit("no wheel cache: run `make wheelhouse` once (needs the index)")
        # Offline: every requirement comes from the wheel cache, never from an index.
        env.update({"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(WHEELHOUSE)})
    if out.exists():
        shutil.rmtree(out)
    with tempfile.TemporaryDirectory(prefix="tvarit-package-") as tmp:
        # A clean copy: no local __pycache__ or stray files reach the zip.
        project = _app_copy(Path(tmp), with_requirements=not template_only)
        chalice = Path(sys.executable).parent / "chalice"
        subprocess.run(
            [str(chalice), "package", "--stage", stage, "--merge-template", str(merge), str(out)],
            cwd=project,
            env=env,
            check=True,
        )
    if not template_only:
        add_bytecode(out / "deployment.zip")
    return out


def add_bytecode(zip_path: Path) -> int:
    """Add ``__pycache__/*.cpython-311.pyc`` for every module; returns how many.

    Lambda's /var/task is read-only, so Python can never cache bytecode there: without it every
    cold start compiles every module it imports. Unchecked-hash pycs are used without comparing
    them to the source's mtime, which zip extraction does not preserve faithfully.
    """
    if sys.version_info[:2] != LAMBDA_PYTHON:
        raise SystemExit(f"bytecode must be compiled by Python {LAMBDA_PYTHON}, not {sys.version}")
    with tempfile.TemporaryDirectory(prefix="tvarit-pyc-") as tmp:
        root = Path(tmp)
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(root)
        _add_language_model_cache(root / "chalicelib" / "domain" / "language")
        _add_botocore_data(root)
        compileall.compile_dir(
            root,
            quiet=2,
            workers=0,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        count = 0
        rebuilt = zip_path.with_suffix(".tmp")
        with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as out:
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                info = zipfile.ZipInfo(str(path.relative_to(root)), FIXED_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
                out.writestr(info, path.read_bytes())
                count += path.suffix == ".pyc"
        rebuilt.replace(zip_path)
    return count


def _add_botocore_data(root: Path) -> None:
    """botocore's data files for our services, parsed by the package's own botocore."""
    target = root / "chalicelib" / "adapters"
    if not (target / "botocore_data.py").is_file():
        return
    # The package's botocore, not this venv's: the file names the version that wrote it.
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from chalicelib.adapters.botocore_data import PACKED_FILE, pack; "
        "open(sys.argv[2] + '/' + PACKED_FILE, 'wb').write(pack())"
    )
    subprocess.run([sys.executable, "-c", code, str(root), str(target)], check=True, cwd=root)


def _add_language_model_cache(package: Path) -> None:
    """The romanized-Hindi model as marshal data beside its JSON (a faster first analyze)."""
    from chalicelib.domain.language.latin import MODEL_CACHE_FILE, MODEL_FILE, model_cache

    model = package / MODEL_FILE
    if model.is_file():  # a package without the analyzer has no model to cache
        (package / MODEL_CACHE_FILE).write_bytes(model_cache(model.read_bytes()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.build")
    sub = parser.add_subparsers(dest="command", required=True)
    pol = sub.add_parser("policies", help="write .chalice/policy-*.json from infra/stack.py")
    pol.add_argument("--check", action="store_true", help="only report stale files")
    pkg = sub.add_parser("package", help="chalice package with the merge template")
    pkg.add_argument("--stage", default="prod")
    pkg.add_argument("--out", type=Path, default=None)
    pkg.add_argument("--template-only", action="store_true")
    args: Any = parser.parse_args(argv)
    if args.command == "policies":
        stale = write_policies(check=args.check)
        for name in stale:
            print(("stale: " if args.check else "wrote: ") + name)
        return 1 if (args.check and stale) else 0
    out = chalice_package(args.stage, args.out or ROOT / "build" / args.stage, args.template_only)
    print(f"packaged {args.stage} into {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
