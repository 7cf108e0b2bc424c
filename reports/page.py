"""The page style shared by every ccsim HTML output: ``compare --report``, its interactive
twin, ``reality --report`` and ``staff --report``.

One stylesheet, escaping, tables and data URIs live here, without matplotlib or
plotly, so that commands which write a page import only what their figures need.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from importlib import metadata

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1a1a1a;
background:#fff;line-height:1.45}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:1.6em;margin:0 0 4px}h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555;font-size:.9em}
table{border-collapse:collapse;margin:8px 0 16px;font-size:.92em}
th,td{padding:4px 10px;border-bottom:1px solid #e3e3e3;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
thead th{background:#f3f3f3}
td.better{background:#d6e9f7;font-weight:600}td.worse{background:#fbe3c8;font-weight:600}
td.significant{font-weight:600}
figure{margin:16px 0 32px}figure img{width:100%;height:auto;border:1px solid #eee}
figcaption{color:#444;font-size:.9em;margin-top:4px}
dt{font-weight:600;margin-top:6px}dd{margin-left:1.5em}
code{background:#f3f3f3;padding:1px 4px;border-radius:3px}
.scroll{overflow-x:auto}
ol.findings{padding-left:1.6em}ol.findings li{margin:4px 0;padding:4px 8px;border-radius:4px}
ol.findings li.better{background:#d6e9f7}ol.findings li.worse{background:#fbe3c8}
.where{font-weight:700}.effect{color:#555;font-size:.9em}
nav.views{margin:8px 0;font-size:.95em}
"""
"""Inline stylesheet of every page; better is blue and worse orange (Okabe–Ito), and the
word is always written too, so colour is never the only cue."""


def escape(text: object) -> str:
    """``text`` safe for HTML text and attribute values."""
    return html.escape(str(text), quote=True)


def table(header: Sequence[str], rows: Sequence[Sequence[tuple[str, str]]]) -> str:
    """A table from header texts and ``(text, css class)`` cells."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="{cls}">{escape(text)}</td>' if cls
                         else f"<td>{escape(text)}</td>" for text, cls in row) + "</tr>"
        for row in rows)
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def data_uri(mime: str, payload: bytes) -> str:
    """``payload`` inline as a ``data:`` URL, so the page needs no file beside it."""
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


def figure_html(stem: str, heading: str, caption: str, svg: bytes) -> str:
    """A figure with its heading and caption, the SVG embedded as a data URI."""
    return (f'<figure id="fig-{stem}"><h3>{escape(heading)}</h3>'
            f'<img src="{data_uri("image/svg+xml", svg)}" alt="{escape(heading)}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def version() -> str:
    """The installed ccsim version, shown on every page so numbers can be traced."""
    try:
        return metadata.version("ccsim")
    except metadata.PackageNotFoundError:
        return "unknown"


def page(title: str, body: str, head: str = "") -> str:
    """A complete HTML document: ``title`` in the tab, ``body`` inside ``<main>``; ``head``
    adds to the document head (the interactive page's inline script)."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{CSS}</style>
{head}</head>
<body>
<main>
{body}
</main>
</body>
</html>
"""
