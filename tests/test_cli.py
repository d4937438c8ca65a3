"""Both command-line apps: a usage error is one `Error:` line with exit code 2, as bad input is."""

import pytest
from typer.testing import CliRunner

from invoker.cli import app as invoker_app
from loadgen.cli import app as loadgen_app

APPS = {"loadgen": loadgen_app, "invoker": invoker_app}


@pytest.mark.parametrize("command, expected", [
    ("loadgen generate --warmup -1",
     "Invalid value for '--warmup': Input should be greater than or equal to 0 (see 'loadgen generate --help')"),
    ("loadgen generate --bogus", "No such option: --bogus (see 'loadgen generate --help')"),
    ("loadgen shards load.json --workers 0",
     "Invalid value for '--workers': Input should be greater than or equal to 1 (see 'loadgen shards --help')"),
    ("loadgen nosuch", "No such command 'nosuch' (see 'loadgen --help')"),
    ("invoker replay", "Missing argument 'load_json' (see 'invoker replay --help')"),
    ("invoker emulate --port x", "Invalid value for '--port': Input should be a valid integer, unable to parse string "
                                 "as an integer (see 'invoker emulate --help')"),
])  # fmt: skip
def test_usage_errors_are_one_line(command, expected):
    program, *args = command.split()
    result = CliRunner().invoke(APPS[program], args, prog_name=program)
    assert result.exit_code == 2
    assert result.output == f"Error: {expected}\n"


@pytest.mark.parametrize("program", APPS)
def test_no_arguments_at_all_still_show_the_help(program):
    result = CliRunner().invoke(APPS[program], [], prog_name=program)
    assert result.output.startswith(f"Usage: {program} [OPTIONS] COMMAND [ARGS]...") and "Commands" in result.output
