"""Rewrite the README's performance table from ``edge bench --json``.

    edge bench --json > bench.json && python benchmarks/readme_table.py bench.json [--readme README.md]
    edge bench --json | python benchmarks/readme_table.py -

The block between ``<!-- bench:start -->`` and ``<!-- bench:end -->`` is replaced by the table
(:func:`edge.commands.bench.markdown`: every figure, its peer from the same run, its goal, pass / fail, and the
machine line); nothing else in the file changes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge.commands.bench import SCHEMA_VERSION, markdown, replace_block


def rewrite(readme: Path, document: dict[str, object]) -> bool:
    """Rewrite ``readme``'s bench block from ``document``; True if the file changed."""
    if document.get("schema") != SCHEMA_VERSION:
        raise SystemExit(f"not an `edge bench --json` document of schema {SCHEMA_VERSION}")
    before = readme.read_text(encoding="utf-8")
    after = replace_block(before, markdown(document))
    if after != before:
        readme.write_text(after, encoding="utf-8")
    return after != before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("json", help="the output of `edge bench --json` (- for stdin)")
    parser.add_argument("--readme", default=str(Path(__file__).resolve().parent.parent / "README.md"))
    args = parser.parse_args(argv)
    text = sys.stdin.read() if args.json == "-" else Path(args.json).read_text(encoding="utf-8")
    changed = rewrite(Path(args.readme), json.loads(text))
    print(f"{args.readme}: {'rewritten' if changed else 'already up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
