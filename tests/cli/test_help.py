"""``somanet COMMAND --help`` shows each option's default once, and never as None."""
import re

import pytest

from somanet import cli

COMMANDS = ["train", "evaluate", "predict", "export", "info"]


def help_of(capsys, command):
    assert cli.main([command, "--help"]) == 0
    return capsys.readouterr().out


def option_blocks(text):
    """The help of each option: its line and the lines indented under it."""
    blocks, current = [], None
    for line in text.splitlines():
        if re.match(r"^  -", line):
            current = [line]
            blocks.append(current)
        elif current is not None and line.startswith("    "):
            current.append(line)
        else:
            current = None
    return [" ".join(block) for block in blocks]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_default_is_shown_once(capsys, command):
    blocks = option_blocks(help_of(capsys, command))
    assert blocks  # -h at least
    for block in blocks:
        assert len(re.findall(r"default", block, re.IGNORECASE)) <= 1, block
        assert "(default: None)" not in block and "(default: False)" not in block, block


def test_defaults_set_by_argparse_are_shown(capsys):
    blocks = option_blocks(help_of(capsys, "train"))
    device = next(block for block in blocks if "--device" in block)
    verbose = next(block for block in blocks if "--verbose" in block)
    epochs = next(block for block in blocks if "--epochs" in block)
    assert "(default: cpu)" in device and "(default: 1)" in verbose
    assert "(default 5)" in epochs  # worded in the help, not added again
    assert "(default: cpu)" in " ".join(option_blocks(help_of(capsys, "evaluate")))
