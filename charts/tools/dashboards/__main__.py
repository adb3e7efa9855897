"""Write the StoryBang Grafana dashboards (charts/storybang/files/dashboards/*.json) from this
package, or with --check fail when the files differ from what the code makes.

    python -m dashboards OUT_DIR [--check]      (with charts/tools on PYTHONPATH; `make dashboards`)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from dashboards import generation, models, notifier, operator, overview

# One dashboard per audience; the file name is the ConfigMap's suffix in the chart.
DASHBOARDS: dict[str, Callable[[], str]] = {
    "overview": overview.dashboard,
    "generation": generation.dashboard,
    "model-servers": models.dashboard,
    "notifier": notifier.dashboard,
    "operator": operator.dashboard,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    wanted = {args.out / f"{name}.json": make() for name, make in DASHBOARDS.items()}
    present = set(args.out.glob("*.json"))
    stale = sorted(str(p) for p, text in wanted.items() if not p.exists() or p.read_text() != text)
    extra = sorted(str(p) for p in present - wanted.keys())
    if args.check:
        for path in stale + extra:
            print(f"dashboards: {path} is out of date: run `make dashboards`", file=sys.stderr)
        if not stale and not extra:
            print(f"dashboards: {args.out} up to date")
        return 1 if stale or extra else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for path in extra:
        Path(path).unlink()
    for path, text in wanted.items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
