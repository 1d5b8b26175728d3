"""`gan-studio --help` lists every headless command; `gan-studio help COMMAND` prints that command's help."""

import pytest

import main as entry
from engine.cli import COMMANDS, command_modules


def test_top_level_help_lists_every_command_with_its_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        entry.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    modules = command_modules()
    assert set(modules) == set(COMMANDS) - {"help"}
    for name, module in modules.items():
        assert any(line.split() and line.split()[0] == name and module.HELP in line for line in out.splitlines()), name


def test_help_command_prints_that_commands_usage(capsys):
    assert entry.main(["help", "synth"]) == 0
    assert "usage: gan-studio synth" in capsys.readouterr().out


def test_help_without_topic_lists_commands(capsys):
    assert entry.main(["help"]) == 0
    out = capsys.readouterr().out
    assert "info" in out and "upscale" in out


def test_help_for_an_unknown_command_says_so(capsys):
    assert entry.main(["help", "paint-it-black"]) == 2
    err = capsys.readouterr().err
    assert "no command 'paint-it-black'" in err and "synth" in err
