"""The hottest frames of py-spy's collapsed stacks (``py-spy record -f raw``), per file.

    .venv/bin/python bench/profile_summary.py DIR

For each profile: the share of samples in which a frame of the project (``shared/``,
``services/``, ``gateway/``) or of a library appears (inclusive), the top ones first.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

# "function (path/to/file.py:123)"
_FRAME = re.compile(r"^(?P<function>.+?) \((?P<file>[^:()]+)(?::\d+)?\)$")


def _short(file: str) -> str:
    for marker in ("/site-packages/", "/lib/python3.11/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file.split("perf-pipeline/", 1)[-1]


def hottest(path: Path, top: int = 25) -> tuple[int, list[tuple[str, float]]]:
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        total += samples
        seen = set()
        for frame in stack.split(";"):
            match = _FRAME.match(frame.strip())
            name = f"{match['function']} ({_short(match['file'])})" if match else frame.strip()
            if name not in seen:
                seen.add(name)
                inclusive[name] += samples
    idle = sum(n for name, n in inclusive.items() if "hubs/hub.py" in name and name.startswith("wait"))
    ranked = [(name, n / total) for name, n in inclusive.most_common(top * 3) if total]
    return total - idle, ranked[:top]


def summarise(directory: Path, top: int = 25) -> None:
    for path in sorted(directory.glob("*.txt")):
        total, ranked = hottest(path, top)
        print(f"\n--- {path.name}: {total} campioni attivi")
        for name, share in ranked:
            print(f"  {share * 100:5.1f}%  {name}")


if __name__ == "__main__":
    summarise(Path(sys.argv[1]))
