"""Every flag of every script bounded: no numeric flag takes a value that overflows or has no
meaning, a seed means the same story everywhere, and a flag given where it would be ignored is
refused with the reason (issue: "Nothing leaks, nothing crashes, nothing is lost", point 6).

The flags are found by asking each script's own parser, so a flag added later is checked too."""

import argparse

import pytest

from solution import demo, extend, traffic
from solution.labs import LABS
from solution.tools import dashboard, gateway, logs

MAINS = {**{f"lab{lab.number}": lab.lesson().main for lab in LABS}, "demo": demo.main,
         "extend": extend.main, "dashboard": dashboard.main, "logs": logs.main,
         "gateway": gateway.main}
REQUIRED = {"write": ["--out", "-"], "query": ["FILE"], "story": ["FILE", "0" * 32],
            "load": ["--url", "http://127.0.0.1:9/"]}


class Captured(Exception):
    pass


def parser_of(main) -> argparse.ArgumentParser:
    """The parser a script's main() builds, caught as it is asked to parse."""
    def catch(self, *args, **kwargs):
        raise Captured(self)
    original = argparse.ArgumentParser.parse_args
    argparse.ArgumentParser.parse_args = catch
    try:
        main([])
    except Captured as caught:
        return caught.args[0]
    finally:
        argparse.ArgumentParser.parse_args = original
    raise AssertionError(f"{main} never parsed its command line")


def numeric_flags():
    """(script, argv before the flag, flag, argv after) for every option that takes a number
    (or a time: --since and --until)."""
    for name, main in MAINS.items():
        top = parser_of(main)
        places = [([], top)]
        for action in top._actions:
            if isinstance(action, argparse._SubParsersAction):
                places += [([command], sub) for command, sub in action.choices.items()]
        for before, parser in places:
            for action in parser._actions:
                if action.option_strings and action.type not in (None, str):
                    yield name, before, action.option_strings[0], REQUIRED.get(
                        before[0] if before else "", [])


FLAGS = list(numeric_flags())


def test_the_flags_are_found():
    """The finder sees the numeric flags of every script (a finder that saw none passes nothing)."""
    names = {(name, flag) for name, _, flag, _ in FLAGS}
    assert {("lab4", "--tpm"), ("gateway", "--port"), ("logs", "--minutes"), ("lab2", "--window"),
            ("demo", "--seed"), ("dashboard", "--capacity"), ("lab3", "--reservoir")} <= names
    assert len(FLAGS) >= 35


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "1e12", "99999999999999999999999", "x"])
def test_every_numeric_flag_refuses_what_has_no_meaning(value, capsys):
    for name, before, flag, after in FLAGS:
        with pytest.raises(SystemExit) as stop:
            MAINS[name](before + [flag, value] + after)
        err = capsys.readouterr().err
        assert stop.value.code == 2, (name, flag, value)
        assert f"argument {flag}" in err and "Traceback" not in err, (name, flag, value, err)
        assert any(why in err for why in ("out of range", "not a number", "invalid", "not an RFC 3339")), err


def test_a_port_is_0_to_65535(capsys):
    parser = parser_of(gateway.main)
    serve = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["serve"]
    assert serve.parse_args(["--port", "0"]).port == 0
    assert serve.parse_args(["--port", "65535"]).port == 65535
    with pytest.raises(SystemExit):
        serve.parse_args(["--port", "65536"])
    assert "a port is a whole number from 0 to 65535" in capsys.readouterr().err


def test_seed_0_is_a_seed_in_every_script_and_the_same_story(capsys):
    """Every --seed takes 0 to 2**32 - 1, and seed 0 is one story: lab 2, its tool, the challenge
    and the demo count the requests of traffic.generate(seed=0)."""
    seeded = {name for name, _, flag, _ in FLAGS if flag == "--seed"}
    labs = {f"lab{lab.number}" for lab in LABS}
    assert seeded >= labs | {"demo", "extend", "dashboard", "logs"}
    for name, before, flag, after in FLAGS:
        if flag == "--seed":
            with pytest.raises(SystemExit):
                MAINS[name](before + [flag, str(2 ** 32)] + after)
            assert "from 0 to 4,294,967,295" in capsys.readouterr().err
    count = f"{len(traffic.generate(seed=0)):,} requests"
    assert count != f"{len(traffic.generate(seed=1)):,} requests"
    for argv in (["lab2", "--seed", "0"], ["dashboard", "--seed", "0"], ["demo", "--seed", "0", "--lab", "2"]):
        assert MAINS[argv[0]](argv[1:]) == 0
        assert count in capsys.readouterr().out, argv


@pytest.mark.parametrize("name, argv, why", [
    ("lab1", ["--sample", "1", "--slow-ms", "500"], "--slow-ms only matters when --sample is below 1"),
    ("logs", ["write", "--out", "-", "--slow-ms", "500"], "--slow-ms only matters when --sample is below 1"),
    ("logs", ["query", "FILE", "--count-by", "tenant", "--limit", "5"], "--limit limits the lines printed"),
    ("logs", ["query", "FILE", "--sql", "select 1", "--limit", "5"], "--limit limits the lines printed"),
    ("lab3", ["--reservoir", "20", "--sample-rate", "0.5"], "--sample-rate is the hash sampler's"),
    ("demo", ["--force"], "--force only applies with --html FILE"),
    ("dashboard", ["--force"], "--force only applies with --html or --prom FILE"),
    ("dashboard", ["--capacity", "4"], "--capacity only applies with --from FILE"),
    ("dashboard", ["--metric-total", "x_total"], "--metric-total only applies with --rules FILE"),
    ("dashboard", ["--rules-test", "t.yml"], "--rules-test tests the rules it is written beside"),
    ("dashboard", ["--scrape-target", "h:1"], "--scrape-target only applies with --scrape-config"),
    ("dashboard", ["--since", "2026-11-02T11:00:00Z"], "--since only applies with --from FILE"),
    ("dashboard", ["--from", "FILE", "--seed", "3"], "--seed makes the story"),
])
def test_a_flag_where_it_would_be_ignored_is_refused(name, argv, why, capsys):
    with pytest.raises(SystemExit) as stop:
        MAINS[name](argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and why in err and "Traceback" not in err


@pytest.mark.parametrize("name, argv", [
    ("lab1", ["--sample", "0.5", "--slow-ms", "500"]),
    ("lab3", ["--reservoir", "20"]),
    ("dashboard", ["--seed", "3", "--window", "300"]),
])
def test_the_same_flags_where_they_apply_are_taken(name, argv, capsys):
    assert MAINS[name](argv) == 0
    assert capsys.readouterr().out


def test_running_out_of_memory_ends_in_one_line_not_a_traceback(capsys):
    from solution.cli import run_cli

    def hungry() -> int:
        raise MemoryError
    with pytest.raises(SystemExit) as stop:
        run_cli(hungry)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.startswith("error: out of memory") and err.count("\n") == 1
