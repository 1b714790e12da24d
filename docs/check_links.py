"""Check that every internal link of the built site resolves.

    python docs/check_links.py docs/_build/html

Reads every HTML page, and for each relative ``href`` or ``src`` checks that
the file it names exists and, for a link with a ``#fragment``, that the page
has an element with that id. External links (with a scheme, such as
https:) are not followed: the build must not need the network. Prints each
broken link with the page it is on, and exits with status 1 if there is one.
"""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in ("id", "name"):
                self.ids.add(value)
            elif (name == "href" and tag in ("a", "link", "area")) or \
                    (name == "src" and tag in ("img", "script", "iframe", "source")):
                self.links.append(value)


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    return page


def broken_links(root: Path) -> list[str]:
    """Every internal link under ``root`` that does not resolve, as 'page: link (why)'."""
    root = root.resolve()
    # The pages, not the theme's own assets (its _static/ holds template fragments).
    pages = {p: _parse(p) for p in sorted(root.rglob("*.html"))
             if "_static" not in p.relative_to(root).parts}
    problems = []
    for page_path, page in pages.items():
        for link in page.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:")):
                continue
            target = page_path if not parts.path else (page_path.parent / unquote(parts.path))
            target = target.resolve()
            if target.is_dir():
                target = target / "index.html"
            where = f"{page_path.relative_to(root)}: {link}"
            if not target.exists():
                problems.append(f"{where} (no file {target})")
                continue
            if root not in target.parents and target != root:
                problems.append(f"{where} (outside the site)")
                continue
            fragment = unquote(parts.fragment)
            if fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if fragment not in ids:
                    problems.append(f"{where} (no id {fragment!r} in {target.name})")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    root = Path(argv[0])
    if not (root / "index.html").is_file():
        print(f"{root}: no index.html; build the site first", file=sys.stderr)
        return 2
    problems = broken_links(root)
    for line in problems:
        print(line)
    print(f"{len(problems)} broken internal links")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
