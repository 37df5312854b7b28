"""Command line for the course data: ``python -m cnn_course.data COMMAND``.

Commands:
  fetch --all | fetch NAME...    download (full profile) and verify; use --all to pre-stage
                                 everything for an offline machine or grading runner
  verify [--all | NAME...]       check cached files against the manifest (never downloads)
  build-subsets [--target DIR]   build cats_vs_dogs_small/ for the active profile
  info                           profile, cache directory and the state of each file

Exit status 0 on success, 1 on any failure (with the reason on stderr), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cnn_course import data
from cnn_course.data import manifest


def _human_size(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _selected_names(parser: argparse.ArgumentParser, args: argparse.Namespace, *, default_all: bool) -> list[str]:
    if args.all and args.names:
        parser.error("give dataset names or --all, not both")
    if args.all or (default_all and not args.names):
        return data.dataset_names()
    if not args.names:
        parser.error(f"name a dataset ({', '.join(data.dataset_names())}) or use --all")
    return args.names


def _for_each(names: list[str], action) -> int:
    """Run ``action(name)`` for every name, report each failure, and fail at the end."""
    failures = 0
    for name in names:
        try:
            print(action(name), flush=True)
        except data.DataError as error:
            failures += 1
            print(f"FAILED {error}", file=sys.stderr, flush=True)
    if failures:
        print(f"{failures} of {len(names)} failed.", file=sys.stderr)
    return 1 if failures else 0


def _fetch_one(name: str) -> str:
    info = data.dataset_info(name)
    was_cached = (data.data_dir() / info.filename).is_file()
    path = data.fetch(name, verify=True)
    how = "already cached" if was_cached else "downloaded"
    return f"{name}: {how}, verified ({_human_size(info.size)}, {info.algorithm} ok) -> {path}"


def _verify_one(name: str) -> str:
    info = data.dataset_info(name)
    path = data.verify(name)
    return f"{name}: verified ({_human_size(info.size)}, {info.algorithm} ok) -> {path}"


def _command_fetch(parser, args) -> int:
    data.data_profile()  # fail early and clearly on a bad COURSE_DATA_PROFILE
    status = _for_each(_selected_names(parser, args, default_all=False), _fetch_one)
    if status == 0 and args.all:
        print("Everything is cached. Run `python -m cnn_course.data build-subsets` to prepare cats_vs_dogs_small.")
    return status


def _command_verify(parser, args) -> int:
    return _for_each(_selected_names(parser, args, default_all=True), _verify_one)


def _command_build_subsets(parser, args) -> int:
    path = data.make_cats_vs_dogs_small(target_dir=args.target)
    for split in ("train", "validation", "test"):
        sizes = {folder.name: sum(1 for _ in folder.glob("*.jpg")) for folder in sorted((path / split).iterdir())}
        print(f"{split}: " + ", ".join(f"{count} {name}" for name, count in sizes.items()))
    print(f"cats_vs_dogs_small ready at {path}")
    return 0


def _command_info(parser, args) -> int:
    print(f"cache dir: {data.data_dir()}")
    print(f"manifest:  {manifest.MANIFEST_PATH}")  # the one the data layer reads
    try:
        profile = data.data_profile()
    except data.DataProfileError as error:
        print(f"profile:   INVALID. {error}")
        return 1
    print(f"profile:   {profile}")
    for name in data.dataset_names():
        info = data.dataset_info(name)
        print(f"  {name:<13} {data.cached_status(name):<10} {_human_size(info.size):>10}  {info.filename}")
    if profile == "embedded":
        embedded = data.data_dir() / "embedded"
        state = "generated" if embedded.is_dir() else "not generated yet (made on first use)"
        print(f"embedded data: {embedded} ({state})")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cnn_course.data",
        description="Download, verify and prepare the course data. "
        "Environment: COURSE_DATA_PROFILE=full|embedded, COURSE_DATA_DIR=<cache dir>.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    fetch = commands.add_parser("fetch", help="download and verify files (full profile)")
    verify = commands.add_parser("verify", help="check cached files (all files if none are named)")
    for sub in (fetch, verify):
        sub.add_argument("names", nargs="*", metavar="NAME", help="dataset names from the manifest")
        sub.add_argument("--all", action="store_true", help="every file in the manifest")
    build = commands.add_parser("build-subsets", help="build cats_vs_dogs_small for the active profile")
    build.add_argument("--target", type=Path, default=None, help="output folder (default: in the cache dir)")
    commands.add_parser("info", help="show the profile, cache dir and the state of each file")
    return parser


_COMMANDS = {
    "fetch": _command_fetch,
    "verify": _command_verify,
    "build-subsets": _command_build_subsets,
    "info": _command_info,
}


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return _COMMANDS[args.command](parser, args)
    except data.DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
