"""Start heap_pages.py's walks inside the operator that bench_scale.py starts.

`bench_scale.py --operator-env PYTHONPATH=benchmarks/heap_walk` puts this directory on the
operator's path; Python imports this file at start-up in every process that has that path, so
it acts only in the operator (its kubeconfig's name is on its command line). Once the operator's
RSS has fallen `HEAP_WALK_DROP_MB` below its peak (the deletions), it walks the heap
`HEAP_WALK_AFTER` seconds later and again 60 s after that, writing to
`/tmp/heap-walk-<pid>.log`. A walk holds the interpreter for a few seconds and raises RSS while
it maps every live object (at 500 plugins to 314 MB, back to 138 MB after it): pass `--later`
past the walks, or read RSS at 120 s from `rss_mb_after_delete_by_second`.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

PEAK_AT_LEAST_MB = 165
DROP_MB = float(os.environ.get("HEAP_WALK_DROP_MB", "15"))
AFTER_SECONDS = float(os.environ.get("HEAP_WALK_AFTER", "140"))


def _rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


def _watch() -> None:
    import heap_pages  # here, not at start-up: the operator's own imports come first

    peak = 0.0
    while True:
        time.sleep(2)
        rss = _rss_mb()
        peak = max(peak, rss)
        if peak >= PEAK_AT_LEAST_MB and peak - rss >= DROP_MB:
            break
    time.sleep(AFTER_SECONDS)
    with Path(f"/tmp/heap-walk-{os.getpid()}.log").open("a") as out:
        heap_pages.walk(out, f"{AFTER_SECONDS:.0f} s after the drop, RSS {_rss_mb():.0f} MB")
        time.sleep(60)
        heap_pages.walk(out, f"{AFTER_SECONDS + 60:.0f} s after the drop, RSS {_rss_mb():.0f} MB")


if "operator-kubeconfig.json" in " ".join(getattr(sys, "orig_argv", [])):
    threading.Thread(target=_watch, daemon=True, name="heap-walk").start()
