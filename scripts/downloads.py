"""What installing an environment of StoryBang downloads on a fresh machine, from uv.lock.

    .venv/bin/python scripts/downloads.py --extra llama --most 500   # the first `make dev`

For each package that ``uv export`` puts in the environment on this machine (markers evaluated
here), the lock's size of the file uv would fetch: the wheel whose tags suit this interpreter best,
else the source distribution. Exits 1, saying so, when the sum is over ``--most`` megabytes.
Build requirements of a source distribution (llama-cpp-python's scikit-build-core) are not in the
lock and not counted: under a megabyte where CMake is on the machine, as the build needs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.tags import Tag, sys_tags
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parent.parent


def wanted(extras: list[str]) -> dict[str, str]:
    """Name → version of every package of the services' environment with ``extras``, on this machine."""
    command = [str(ROOT / "scripts" / "uv.sh"), "export", "--locked", "--package", "storybang", "--no-hashes"]
    command += ["--no-emit-workspace", "--no-header", "-q", *(f"--extra={e}" for e in extras)]
    exported = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT).stdout  # noqa: S603
    versions: dict[str, str] = {}
    for line in exported.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "-")):
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate():
            versions[canonicalize_name(requirement.name)] = str(requirement.specifier).removeprefix("==")
    return versions


def fetched(package: dict[str, Any], rank: dict[Tag, int]) -> tuple[str, int]:
    """The file uv fetches for ``package`` (a ``[[package]]`` of uv.lock) here, and its size."""
    best: tuple[int, str, int] | None = None
    for wheel in package.get("wheels", []):
        name = wheel["url"].rsplit("/", 1)[-1]
        try:
            tags = parse_wheel_filename(name)[3]
        except InvalidWheelFilename:
            continue
        suits = [rank[tag] for tag in tags if tag in rank]
        if suits and (best is None or min(suits) < best[0]):
            best = (min(suits), name, int(wheel.get("size", 0)))
    if best is not None:
        return best[1], best[2]
    sdist = package.get("sdist")
    if isinstance(sdist, dict):
        return "source " + str(sdist["url"]).rsplit("/", 1)[-1], int(sdist.get("size", 0))
    raise SystemExit(f"uv.lock has no file of {package['name']} for this machine")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--extra", action="append", default=[], help="an extra of the services (repeatable)")
    parser.add_argument("--most", type=float, help="megabytes allowed; over them, exit 1")
    parser.add_argument("--largest", type=int, default=5, help="how many of the largest files to list")
    args = parser.parse_args()

    versions = wanted(args.extra)
    rank = {tag: i for i, tag in enumerate(sys_tags())}
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    files = [
        (*fetched(p, rank), p["name"])
        for p in lock["package"]
        if versions.get(canonicalize_name(p["name"])) == p.get("version")
    ]
    missing = set(versions) - {canonicalize_name(name) for _, _, name in files}
    if missing:
        raise SystemExit(f"not in uv.lock: {', '.join(sorted(missing))}")
    total = sum(size for _, size, _ in files) / 1e6
    extras = " ".join(f"[{e}]" for e in args.extra) or "(no extras)"
    print(f"downloads of the services {extras}: {total:.0f} MB in {len(files)} files, from uv.lock")
    for name, size, _ in sorted(files, key=lambda f: -f[1])[: args.largest]:
        print(f"  {size / 1e6:7.1f} MB  {name}")
    if args.most is not None and total > args.most:
        print(f"over the {args.most:.0f} MB allowed", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
