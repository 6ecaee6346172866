"""The static site (``make site``, ``python -m rlrepro.site``): the results pages, the scorecard
and the executed notebooks as HTML under one index with a navigation bar.

Built from what the pipeline produced: ``results/`` (tracked by git, so a fresh clone has it)
and, where they exist, the executed notebooks and GIFs of ``data/`` (DVC outputs). Every link is
relative and nothing is loaded from the network, so ``site/index.html`` opens from the file
system; publishing is copying ``site/`` (README: "Reading the results").
"""
from __future__ import annotations

import argparse
import base64
import html
import pathlib
import re
import shutil

ROOT = pathlib.Path(__file__).resolve().parents[2]  # the repository (lib/rlrepro/ -> .)
INDEX, SCORECARD = "README", "scorecard"  # results/ pages that are not an experiment's
STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #222; line-height: 1.45; }
nav { background: #1f3b57; padding: 0.5em 1em; position: sticky; top: 0; z-index: 10;
      display: flex; flex-wrap: wrap; row-gap: 0.3em; }
nav a { color: #fff; margin-right: 1.1em; text-decoration: none; font-size: 0.9em; }
nav a.here { font-weight: bold; text-decoration: underline; }
main { max-width: 1100px; margin: 1em auto; padding: 0 1em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; vertical-align: top; }
th { background: #eef2f6; }
img { max-width: 100%; }
code { background: #f3f3f3; padding: 0 0.2em; }
.gifs img { max-width: 32%; margin: 0.2em; }
"""


def navigation(names: list[str], here: str, depth: int = 0) -> str:
    """The bar at the top of every page; ``depth`` is how many folders below the site root."""
    up = "../" * depth
    links = [("index.html", "Results"), ("scorecard.html", "Scorecard"),
             *((f"{name}.html", name) for name in names)]
    return "<nav>" + "".join(
        f'<a href="{up}{href}"{" class=here" if href == here else ""}>{html.escape(label)}</a>'
        for href, label in links) + "</nav>"


def markdown_to_html(text: str) -> str:
    """GitHub-flavoured enough for the results pages (tables), with ``.md`` links made ``.html``
    (``README.md`` is the site's index)."""
    import mistune

    body = mistune.create_markdown(plugins=["table"], escape=False)(text)
    body = re.sub(r'href="README\.md"', 'href="index.html"', body)
    return re.sub(r'href="([^":]+)\.md"', r'href="\1.html"', body)


def document(title: str, nav: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n"
            f"<body>{nav}<main>\n{body}\n</main></body></html>\n")


def notebook_html(notebook: pathlib.Path, nav: str) -> str:
    """An executed notebook as one self-contained page: nbconvert's lab template with the
    notebook's images inline (GIFs too, which nbconvert would drop) and without the scripts it
    would fetch from a CDN (require.js, MathJax, the widget manager)."""
    import nbformat
    from nbconvert import HTMLExporter

    executed = nbformat.read(notebook, as_version=4)
    executed.metadata.pop("widgets", None)  # the progress bars' state: its manager is on a CDN
    for cell in executed.cells:
        for output in cell.get("outputs", []):
            gif = output.get("data", {}).pop("image/gif", None)
            if gif:
                data = gif if isinstance(gif, str) else base64.b64encode(gif).decode()
                output["data"]["text/html"] = f'<img src="data:image/gif;base64,{data.strip()}">'
    page, _ = HTMLExporter(template_name="lab").from_notebook_node(executed)
    page = re.sub(r'<script[^>]*src="https?://[^"]*"[^>]*>\s*</script>', "", page)
    page = re.sub(r"<script type=\"text/x-mathjax-config\">.*?</script>", "", page, flags=re.S)
    return re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + f"<style>{STYLE}</style>" + nav,
                  page, count=1)


def build(root=ROOT, out="site") -> list[pathlib.Path]:
    """Write the site into ``root/out`` (emptied first); return the HTML pages written."""
    root = pathlib.Path(root)
    results, data, site = root / "results", root / "data", root / out
    if not (results / f"{INDEX}.md").is_file():
        raise FileNotFoundError(f"{results / (INDEX + '.md')}: missing; the report stage writes "
                                f"it (dvc repro report)")
    shutil.rmtree(site, ignore_errors=True)
    site.mkdir(parents=True)
    names = sorted(p.stem for p in results.glob("*.md") if p.stem not in (INDEX, SCORECARD))
    pages = {"index.html": (results / f"{INDEX}.md").read_text(),
             "scorecard.html": "![scorecard](scorecard.png)\n\n"
                               + (results / f"{SCORECARD}.md").read_text()}
    shutil.copy(results / "scorecard.png", site / "scorecard.png")
    for name in names:
        text = (results / f"{name}.md").read_text()
        if (results / name).is_dir():
            shutil.copytree(results / name, site / name)
        gifs = sorted((data / "figures" / name).glob("*.gif"))
        if gifs:
            (site / name).mkdir(exist_ok=True)
            for gif in gifs:
                shutil.copy(gif, site / name / gif.name)
            text += "\n## Episodes\n\n<div class=gifs>" + "".join(
                f'<img src="{name}/{g.name}" alt="{g.stem}" title="{g.stem}">' for g in gifs
            ) + "</div>\n"
        notebook = data / "notebooks" / f"{name}.ipynb"
        if notebook.is_file():
            (site / "notebooks").mkdir(exist_ok=True)
            (site / "notebooks" / f"{name}.html").write_text(
                notebook_html(notebook, navigation(names, "", depth=1)))
            text += f"\n[The executed notebook](notebooks/{name}.html)\n"
        pages[f"{name}.html"] = text
    for href, text in pages.items():
        heading = next((line[2:] for line in text.splitlines() if line.startswith("# ")), href)
        (site / href).write_text(document(heading, navigation(names, href),
                                          markdown_to_html(text)))
    return sorted(site.rglob("*.html"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rlrepro.site", description=__doc__.split(
        "\n")[0])
    parser.add_argument("--out", default="site", help="folder to write, from the repository root")
    args = parser.parse_args(argv)
    pages = build(ROOT, args.out)
    print(f"wrote {len(pages)} pages; open {ROOT / args.out / 'index.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
