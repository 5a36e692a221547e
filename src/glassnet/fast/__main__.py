"""``python -m glassnet.fast --warm``: compile the kernels into numba's cache ahead.

``--status`` tells which groups of kernels are cached, and where. Messages go through
the ``glassnet`` logger, shown here on stderr (``--quiet``: none).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from . import available
from . import cache as _cache


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m glassnet.fast",
        description="glassnet's compiled path (the fast extra): compile its kernels ahead.",
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument(
        "--warm",
        action="store_true",
        help="compile every kernel in float32 and float64 into the on-disk cache "
        "(instant when they are cached already)",
    )
    action.add_argument("--status", action="store_true", help="what is cached, and where")
    action.add_argument("--warm-dtype", nargs=2, help=argparse.SUPPRESS)  # DTYPE GROUP,...
    parser.add_argument(
        "--jobs", type=int, default=None, help="processes compiling side by side (default: cores)"
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)
    if not available():
        print(
            "glassnet: the compiled path needs the fast extra: pip install 'glassnet[fast]'",
            file=sys.stderr,
        )
        return 1
    if args.jobs is not None and args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    from . import ahead

    if args.warm_dtype:  # one of warm's processes
        dtype, groups = args.warm_dtype
        for group in groups.split(","):
            ahead.exercise(group, dtype)
        return 0
    if args.status:
        print(f"cache: {_cache.cache_folder() or 'none can be written: compiled in each process'}")
        for dtype in _cache.DTYPES:
            done = [g for g in _cache.GROUPS if _cache.cached(g, dtype)]
            print(f"{dtype}: {', '.join(done) or 'nothing'} cached")
        return 0
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("glassnet: %(message)s"))
    logger = logging.getLogger("glassnet")
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if args.quiet else logging.INFO)
    try:
        ahead.warm_all(jobs=args.jobs, quiet=args.quiet)
    finally:
        logger.removeHandler(handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
