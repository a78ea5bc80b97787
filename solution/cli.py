"""Command-line helpers every script shares: argparse value types that refuse a bad setting with
the reason, a kinder error for an option put before its command, a file written whole or not at
all, and a clean exit.

    >>> fraction("0.25"), positive_int("3")
    (0.25, 3)
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Callable, TextIO, TypeVar

T = TypeVar("T")


def _typed(convert: Callable[[str], float], test: Callable[[float], bool], rule: str):
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not test(value):
            raise argparse.ArgumentTypeError(f"{text} is out of range: {rule}")
        return value
    parse.__name__ = rule
    return parse


fraction = _typed(float, lambda v: 0.0 <= v <= 1.0, "must be between 0 and 1")
positive_float = _typed(float, lambda v: v > 0 and math.isfinite(v), "must be greater than 0")
positive_int = _typed(int, lambda v: v > 0, "must be a whole number greater than 0")
non_negative_int = _typed(int, lambda v: v >= 0, "must be a whole number, 0 or more")


def slo_value(text: str) -> float:
    """An SLO as a fraction strictly between 0 and 1: 0.995 means 99.5 %."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"{text} is out of range: an SLO is a fraction between 0 and 1, exclusive "
            "(0.995 for 99.5 %; 1 would leave no error budget, 0 promises nothing)")
    return value


def window_value(text: str) -> float:
    """A window length in seconds, from 1 second to one day."""
    value = positive_float(text)
    if not 1 <= value <= 86_400:
        raise argparse.ArgumentTypeError(f"{text} is out of range: a window is 1 to 86400 seconds")
    return value


def at_most(kind: Callable, most: float) -> Callable:
    """An argparse type: `kind`, and at most `most` (so that a run stays bounded)."""
    def parse(text: str):
        value = kind(text)
        if value > most:
            raise argparse.ArgumentTypeError(f"{text} is out of range: at most {most:g}")
        return value
    parse.__name__ = kind.__name__
    return parse


def parse_command_line(parser: argparse.ArgumentParser, commands, argv: list[str] | None):
    """parser.parse_args(argv) with one kinder error. An option given before the command it belongs
    to (`logs.py --minutes 150 write`) is named, with where it goes, where argparse would say
    "invalid choice: '150'". `commands` is what parser.add_subparsers() returned."""
    argv = sys.argv[1:] if argv is None else list(argv)
    known = {option for action in parser._actions for option in action.option_strings}
    for arg in argv:
        if arg in commands.choices:
            break
        option = arg.split("=", 1)[0]
        owners = [name for name, sub in commands.choices.items()
                  if any(option in action.option_strings for action in sub._actions)]
        if option.startswith("-") and option not in known and owners:
            parser.error(f"{option} is an option of the {' and '.join(owners)} command: put it "
                         f"after the command, e.g. {parser.prog} {owners[0]} {option} ...")
    return parser.parse_args(argv)


def fail(message: str) -> int:
    """Print a clear error to stderr; return the exit status for main() to return."""
    print(f"error: {message}", file=sys.stderr)
    return 2


def write_file(path: str, write: Callable[[TextIO], T], force: bool = False) -> T:
    """Write a text file whole or not at all, and never over an existing one unless forced.

    The text goes to a temporary file beside the target, flushed to disk, then renamed into place
    (a rename within a directory is atomic on POSIX): a full disk, an error or Ctrl-C leaves the
    old file, or none, never a partial one under the target's name. `-` is standard output; a
    target that exists and is not a regular file (/dev/stdout, a pipe) is written directly. Raises FileExistsError, or the
    OSError that stopped the write."""
    if path == "-":                                        # standard output, as POSIX tools do
        result = write(sys.stdout)
        sys.stdout.flush()
        return result
    target = Path(path)
    if target.exists() and not target.is_file():
        if target.is_dir():
            raise IsADirectoryError(21, "is a directory", path)
        with open(target, "w", encoding="utf-8") as stream:
            return write(stream)
    if target.exists() and not force:
        raise FileExistsError(17, "exists (add --force to overwrite it)", path)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "x", encoding="utf-8") as stream:
            result = write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return result


def cannot_write(path: str, exc: OSError) -> int:
    """fail() for a file that could not be written, in one line."""
    return fail(f"cannot write {path}: {exc.strerror or exc}")


def run_cli(main: Callable[[], int]) -> None:
    """Run a script's main() as a command: its status is the exit status; Ctrl-C and a closed pipe
    (`... | head`) end it quietly instead of with a traceback."""
    try:
        status = main()
        sys.stdout.flush()
    except KeyboardInterrupt:
        status = 130
    except BrokenPipeError:
        # the reader went away: point stdout at nothing so the interpreter's final flush is quiet
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 0
    sys.exit(status)
