from typer.testing import CliRunner

from grader.cli import app


def test_cli_lists_its_commands():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("check", "grade", "release"):
        assert command in result.output
