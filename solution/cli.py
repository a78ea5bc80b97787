"""Command-line helpers every script shares: argparse value types that refuse a bad setting with
the reason, a kinder error for an option put before its command, a file written whole or not at
all, and a clean exit.

    >>> fraction("0.25"), positive_int("3")
    (0.25, 3)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, TextIO, TypeVar

from solution.redaction import neutralize

T = TypeVar("T")


LARGEST = 1_000_000_000                # the top of every open-ended numeric flag: no run overflows
SEEDS = 2 ** 32                        # a seed is a whole number from 0 to 2**32 - 1, in every script


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
positive_float = _typed(float, lambda v: 0 < v <= LARGEST,
                        f"must be greater than 0 and at most {LARGEST:.0e}")
positive_int = _typed(int, lambda v: 0 < v <= LARGEST,
                      f"must be a whole number greater than 0 and at most {LARGEST:,}")
non_negative_int = _typed(int, lambda v: 0 <= v <= LARGEST,
                          f"must be a whole number, 0 or more and at most {LARGEST:,}")
seed_value = _typed(int, lambda v: 0 <= v < SEEDS, f"a seed is a whole number from 0 to {SEEDS - 1:,}")
port_value = _typed(int, lambda v: 0 <= v <= 65_535, "a port is a whole number from 0 to 65535")


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


def given(parser: argparse.ArgumentParser, argv: list[str] | None) -> set[str]:
    """The options the command line sets itself (their dests), defaults left out: so that a flag
    that would be ignored is refused, not silently dropped. A parse with every default suppressed
    (and put back after)."""
    options = [action for action in _all_actions(parser) if action.option_strings]
    defaults = [action.default for action in options]
    for action in options:
        action.default = argparse.SUPPRESS
    try:
        return set(vars(parser.parse_args(sys.argv[1:] if argv is None else argv)))
    finally:
        for action, default in zip(options, defaults):
            action.default = default


def refuse_ignored(parser: argparse.ArgumentParser, argv: list[str] | None,
                   rules: list[tuple[str, bool, str]]) -> None:
    """parser.error for the first rule (flag, applies, why) whose flag is given where it does not
    apply: `lab1 --sample 1 --slow-ms 500` would otherwise keep everything and say nothing."""
    chosen = given(parser, argv)
    dests = {option: action.dest for action in _all_actions(parser) for option in action.option_strings}
    for flag, applies, why in rules:
        if dests[flag] in chosen and not applies:
            parser.error(f"{flag} {why}")


def _all_actions(parser: argparse.ArgumentParser):
    for action in parser._actions:
        yield action
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _all_actions(sub)


def fail(message: str) -> int:
    """Print a clear error to stderr, in one line that shows, never obeys, any control, bidi or
    invisible character a file name or a value brought in; return the exit status."""
    print(f"error: {neutralize(message)}", file=sys.stderr)
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
    (`... | head`) end it quietly instead of with a traceback, and so does running out of memory
    (a memory cap, a log too big for the machine), in one line that says so."""
    try:
        status = main()
        sys.stdout.flush()
    except KeyboardInterrupt:
        status = 130
    except MemoryError:
        status = fail("out of memory: give the process more, or ask about less of the log "
                      "(--since/--until, --where, a smaller --limit)")
    except BrokenPipeError:
        # the reader went away: point stdout at nothing so the interpreter's final flush is quiet
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 0
    sys.exit(status)
