"""The README's set-up is what `.ci/newcomer` runs, and what it links to exists."""
import pathlib
import re
import subprocess
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def setup_commands() -> list:
    """The commands `.ci/newcomer` extracts (the same awk program, run on the README)."""
    script = (ROOT / ".ci" / "newcomer").read_text()
    program = re.search(r"commands=\$\(awk '(.*?)' \"\$repo/README.md\"\)", script, re.S).group(1)
    done = subprocess.run(["awk", program, str(ROOT / "README.md")], capture_output=True, text=True, check=True)
    return [line for line in done.stdout.splitlines() if line.strip()]


def test_the_set_up_is_two_commands_the_demo_and_the_tests():
    install_and_demo, tests = [line.split("#")[0].strip() for line in setup_commands()]
    assert install_and_demo == 'python -m pip install -e ".[test]" && python -m xcs demo'
    assert tests == "python -m pytest -q tests"


def test_the_extra_the_set_up_installs_exists():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "pytest>=7" in extras["test"]


def test_the_readme_links_to_docs_of_this_tree():
    mine = ["docs/analysis.md", "docs/ordered.md", "docs/evidence.md", "docs/hooks.md", "docs/benchmarks.md"]
    for path in mine:
        assert f"]({path})" in README and (ROOT / path).is_file(), path
