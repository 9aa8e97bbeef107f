"""README.md's two commands: .ci/run must run the test command exactly as README gives it."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    blocks = text.split("```bash\n")[1:3]
    return [block.split("\n```")[0].strip() for block in blocks]


def test_ci_runs_the_readme_test_command_verbatim():
    main_command, test_command = readme_commands()
    assert "pytest" in test_command and "pytest" not in main_command
    assert test_command in (ROOT / ".ci" / "run").read_text().splitlines()


def test_each_readme_command_installs_what_it_needs():
    for command in readme_commands():
        assert command.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install")
