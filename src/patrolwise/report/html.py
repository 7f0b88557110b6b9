"""Report building blocks shared by every stage: sections, tables and inline images.

Images are embedded as base64 PNG so a report is one self-contained file that never fetches
anything (no tiles, no CDN), safe to e-mail and to open offline.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass
class Section:
    """One part of a report: a title, its HTML body and a few lines for the terminal summary."""

    title: str
    html: str
    summary: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


def esc(text: object) -> str:
    return html.escape(str(text))


def fig_to_img(fig: Any, alt: str = "") -> str:
    """A matplotlib figure as an inline ``<img>`` (PNG, base64); the figure is closed."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def table_html(df: pd.DataFrame, *, index: bool = False, floatfmt: str = "{:,.2f}") -> str:
    """A data frame as an HTML table, numbers formatted for people."""
    formatters: dict[Any, Any] = {
        c: (lambda v, f=floatfmt: "" if pd.isna(v) else f.format(v))
        for c in df.columns
        if pd.api.types.is_float_dtype(df[c])
    }
    # a value that does not apply is an empty cell in any column, not "NaN"
    return df.to_html(
        index=index,
        border=0,
        classes="tbl",
        formatters=formatters,  # type: ignore[arg-type]
        escape=True,
        na_rep="",
    )


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#1b1b1b;line-height:1.45}
h1{border-bottom:3px solid #1d4e89;padding-bottom:.3rem}h2{color:#1d4e89;margin-top:2.2rem}
table.tbl{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
table.tbl th,table.tbl td{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:right}
table.tbl th{background:#f1f4f8}table.tbl td:first-child,table.tbl th:first-child{text-align:left}
img{max-width:100%}.note{color:#555;font-size:.9rem}.warn{color:#8a4b00}
"""


def render_report(title: str, sections: list[Section], intro: str = "") -> str:
    """A whole self-contained HTML page."""
    toc = "".join(f'<li><a href="#s{i}">{esc(s.title)}</a></li>' for i, s in enumerate(sections))
    body = "".join(
        f'<section id="s{i}"><h2>{esc(s.title)}</h2>{s.html}</section>'
        for i, s in enumerate(sections)
    )
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{esc(title)}</title>"
        f"<style>{CSS}</style></head><body><h1>{esc(title)}</h1>{intro}<ol>{toc}</ol>{body}</body></html>"
    )
