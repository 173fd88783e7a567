"""Known vulnerabilities of every installed dependency (the environment `make install` built), from the package index.

1. `pip-audit` checks the exact installed versions (`pip freeze --exclude-editable`: the project itself is not on PyPI)
   against PyPI's vulnerability data, one `/pypi/NAME/VERSION/json` request per package.
2. A package pip-audit could not check (that per-version endpoint unreachable, as behind some package proxies) is
   checked with the project endpoint `/pypi/NAME/json` instead, whose `vulnerabilities` are those of the latest
   release: conclusive when the installed version is that release.
3. Any known vulnerability fails the audit, and so does an index that does not answer: no silent pass (pip-audit
   alone prints "No known vulnerabilities found" when it skipped every package).
4. A package that is neither checkable by pip-audit nor the latest release (pinned below it by another package) is
   UNCHECKED: a failure, except in degraded mode, when the index offers no per-version data at all (pip-audit could
   check nothing, as behind a package proxy that serves only project pages): then each one is listed loudly and the
   audit passes on the rest. `--strict` makes UNCHECKED a failure in every case.

Usage: python .ci/audit.py [--python .venv/bin/python] [--strict]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

INDEX = "https://pypi.org/pypi"
TIMEOUT_S = 30


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _frozen(python: str) -> dict[str, str]:
    out = subprocess.run(
        [python, "-m", "pip", "freeze", "--exclude-editable", "--disable-pip-version-check"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    pins: dict[str, str] = {}
    for line in out.splitlines():
        name, sep, version = line.strip().partition("==")
        if sep:
            pins[_canonical(name)] = version
        elif line.strip() and not line.startswith("#"):
            sys.exit(f"audit: cannot audit a dependency that is not pinned to a version: {line!r}")
    return pins


def _pip_audit(python: str, pins: dict[str, str]) -> dict[str, dict[str, Any]]:
    """pip-audit's verdict per package: {"vulns": [...]} or {"skip_reason": "..."}."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as req:
        req.write("".join(f"{n}=={v}\n" for n, v in pins.items()))
    bin_dir = Path(python).parent
    proc = subprocess.run(
        [
            *(str(bin_dir / "pip-audit"), "-r", req.name, "--no-deps", "--disable-pip", "-f", "json"),
            *("--progress-spinner", "off", "--timeout", str(TIMEOUT_S)),
        ],
        capture_output=True,
        text=True,
    )
    Path(req.name).unlink()
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
        sys.exit(f"audit: FAILED: pip-audit produced no report (exit {proc.returncode}; index reachable?): {tail[0]}")
    return {_canonical(d["name"]): d for d in report["dependencies"]}


def _from_project_json(name: str, version: str) -> tuple[list[dict[str, Any]] | None, str | None]:
    """The vulnerabilities of `name==version` from the project endpoint; else None and why (None: not the latest)."""
    try:
        with urllib.request.urlopen(f"{INDEX}/{name}/json", timeout=TIMEOUT_S) as resp:  # noqa: S310 - fixed https URL
            data = json.load(resp)
    except (urllib.error.URLError, TimeoutError, json.JSONDecodeError) as exc:
        return None, f"the index did not answer: {exc}"
    latest = data["info"]["version"]
    if latest != version:
        return None, None
    return list(data.get("vulnerabilities") or []), None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=".venv/bin/python", help="the environment to audit")
    parser.add_argument("--strict", action="store_true", help="an UNCHECKED package fails the audit in any mode")
    args = parser.parse_args()
    pins = _frozen(args.python)
    verdicts = _pip_audit(args.python, pins)
    skipped = [n for n in pins if "vulns" not in verdicts.get(n, {})]
    with ThreadPoolExecutor(max_workers=16) as pool:
        fallback = dict(zip(skipped, pool.map(lambda n: _from_project_json(n, pins[n]), skipped), strict=True))

    vulnerable: list[str] = []
    unchecked: list[str] = []
    unreachable: list[str] = []
    for name, version in sorted(pins.items()):
        if name in fallback:
            found, error = fallback[name]
            if error is not None:
                unreachable.append(f"{name}=={version}: {error}")
                continue
            if found is None:
                unchecked.append(f"{name}=={version}: older than the latest release; no per-version data here")
                continue
            vulns = [{"id": v.get("id"), "fix_versions": v.get("fixed_in", [])} for v in found]
        else:
            vulns = verdicts[name]["vulns"]
        vulnerable += [f"{name}=={version}: {v['id']} (fixed in {', '.join(v['fix_versions']) or '-'})" for v in vulns]

    by_pip_audit = len(pins) - len(skipped)
    degraded = by_pip_audit == 0
    print(
        f"audit: {len(pins)} installed packages; checked by pip-audit: {by_pip_audit}, "
        f"by the index's project data: {len(skipped) - len(unchecked) - len(unreachable)}, "
        f"unchecked: {len(unchecked)}, index errors: {len(unreachable)}, known vulnerabilities: {len(vulnerable)}"
    )
    for line in vulnerable:
        print(f"VULNERABLE  {line}")
    for line in unreachable:
        print(f"NO ANSWER   {line}")
    for line in unchecked:
        print(f"UNCHECKED   {line}")
    if vulnerable or unreachable or (unchecked and (args.strict or not degraded)):
        print("audit: FAILED (bump the affected ranges in pyproject.toml; an index that does not answer is a failure)")
        return 1
    if unchecked:
        print(
            f"audit: DEGRADED: this index serves no per-version vulnerability data (pip-audit checked nothing); "
            f"the {len(unchecked)} UNCHECKED packages above were not audited"
        )
    print("audit: no known vulnerability")
    return 0


if __name__ == "__main__":
    sys.exit(main())
