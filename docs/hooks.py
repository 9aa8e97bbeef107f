"""MkDocs hook: the notebooks become pages of the site, rendered from the outputs stored in them.

The notebooks live in notebooks/, beside their .py sources, outside docs/. This hook adds
notebooks/0*.ipynb and notebooks/README.md to the site's files under the same paths
(notebooks/...), before mkdocs-jupyter turns the .ipynb files into pages (mkdocs.yml sets
`execute: false`: nothing is run).

The pages in docs/ link to the notebooks as `../notebooks/NAME.ipynb`, which works on GitHub;
in the site the notebooks sit under docs/'s root, so those links lose their `../` here (and
notebooks/README.md's `../docs/PAGE.md` becomes `../PAGE.md`). Any other link is checked by
`mkdocs build --strict` as it is.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


@event_priority(100)  # before mkdocs-jupyter's on_files, which picks up the .ipynb files
def on_files(files, config):
    for path in [*sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")), NOTEBOOKS / "README.md"]:
        # Found from the repository's root: src_dir, not File.generated, which mkdocs-jupyter's
        # wrapper of the file cannot read.
        files.append(File(f"notebooks/{path.name}", src_dir=str(ROOT), dest_dir=config["site_dir"],
                          use_directory_urls=config["use_directory_urls"]))
    return files


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri.startswith("notebooks/"):
        return markdown.replace("](../docs/", "](../")
    return markdown.replace("](../notebooks/", "](notebooks/")
