"""The documentation: README.md, the pages in docs/ and the site built from them (mkdocs.yml).

docs/cli.md is generated from the argparse parsers and must match them; every relative link of
the Markdown pages must lead to a file of the repository (as GitHub renders them), and none may
point outside it; every page is in the site's menu; docs/api.md documents every public name.
`mkdocs build --strict` (in .ci/run) checks the site itself.
"""

import difflib
import importlib.util
import re
from pathlib import Path

import tfweek3

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
MARKDOWN = [ROOT / "README.md", ROOT / "notebooks" / "README.md", *PAGES]
LINK = re.compile(r"\]\(([^)\s]+)\)")  # [text](target) and ![alt](target)
TEXT_SUFFIXES = {".md", ".py", ".ipynb", ".cfg", ".toml", ".yml", ".txt", ".js"}
SKIPPED_FOLDERS = {".git", ".venv", "site", "runs", "build", "dist", ".cache", "__pycache__"}


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_cli", DOCS / "gen_cli.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_page_is_the_help_of_the_current_parsers():
    expected = load_generator().render()
    actual = (DOCS / "cli.md").read_text()
    diff = "".join(difflib.unified_diff(actual.splitlines(True), expected.splitlines(True),
                                        "docs/cli.md", "the parsers' --help", n=1))
    assert actual == expected, f"run `python docs/gen_cli.py` to update docs/cli.md:\n{diff}"


def test_cli_page_has_every_command():
    text = (DOCS / "cli.md").read_text()
    for command in ("demo", "train", "tune", "babysit", "exercise", "exercise check"):
        assert f"\n## tfweek3 {command}\n" in text
    assert "--strategy {random,grid,coarse-to-fine,pbt}" in text


def links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)  # not inside code blocks
    return [target for target in LINK.findall(text)
            if not target.startswith(("http://", "https://", "mailto:", "#"))]


def test_relative_links_lead_to_files_of_the_repository():
    for page in MARKDOWN:
        for target in links(page):
            path = (page.parent / target.split("#")[0]).resolve()
            assert path.is_relative_to(ROOT), f"{page.name}: {target} is outside the repository"
            assert path.exists(), f"{page.relative_to(ROOT)}: {target} does not exist"


def test_nothing_points_outside_the_repository():
    needle = "../" + "shared"  # the course notes beside the repository: not part of it
    found = []
    for path in ROOT.rglob("*"):
        if SKIPPED_FOLDERS & set(path.relative_to(ROOT).parts) or not path.is_file():
            continue
        text_file = path.suffix in TEXT_SUFFIXES or path.name == "run"  # .ci/run
        if text_file and needle in path.read_text(errors="replace"):
            found.append(str(path.relative_to(ROOT)))
    assert not found, f"these files point outside the repository: {found}"


def test_every_page_is_in_the_site_menu_and_linked_from_the_readme():
    nav = (ROOT / "mkdocs.yml").read_text().split("\nnav:\n", 1)[1]
    readme = (ROOT / "README.md").read_text()
    for page in PAGES:
        assert re.search(rf": {re.escape(page.name)}\n", nav), f"{page.name} is not in the nav"
        assert f"](docs/{page.name})" in readme, f"README.md does not link docs/{page.name}"
    for notebook in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        assert f": notebooks/{notebook.name}\n" in nav, f"{notebook.name} is not in the nav"


def test_api_page_documents_every_public_name():
    text = (DOCS / "api.md").read_text()
    documented = re.findall(r"^::: tfweek3\.(\w+)$", text, flags=re.MULTILINE)
    assert sorted(documented) == sorted(tfweek3.__all__)


def test_readme_reads_in_two_minutes():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; move the details to docs/"
