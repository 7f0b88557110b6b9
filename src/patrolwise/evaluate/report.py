"""Evaluation output: JSON with every estimate and its provenance, and an HTML section with charts.

The words come from :func:`patrolwise.evaluate.estimates.describe`, which only says
"significant" when the interval excludes no change.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..errors import InputError
from ..report.html import Section, esc, fig_to_img, table_html
from .before_after import BeforeAfter
from .displacement import Displacement
from .estimates import Estimate, _clean, describe, fmt_pct
from .patrol_days import PatrolDays


def write_json(obj: dict[str, Any], out: Path, name: str) -> Path:
    """Write ``out/name.json``; a folder that cannot be made or written is an InputError (it was
    an OSError traceback after the whole analysis had run)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{name}.json"
        path.write_text(json.dumps(_clean(obj), indent=2, default=str))
    except OSError as exc:
        raise InputError(f"--out {out}: cannot write the results ({exc.strerror or exc})") from None
    return path


def planted_statement(e: Estimate, effect: float) -> str:
    """Whether the planted (known) effect lies inside the estimate's interval."""
    truth = 1.0 - effect
    where = "within" if e.covers(truth) else "OUTSIDE"
    return (
        f"planted effect {fmt_pct(-100 * effect)} lies {where} the 95% interval "
        f"{fmt_pct(e.pct_lo)} to {fmt_pct(e.pct_hi)} (estimate {fmt_pct(e.pct_change)})"
    )


def series_chart(ba: BeforeAfter) -> str:
    s = ba.series
    fig, ax = plt.subplots(figsize=(9, 3.4))
    rate = s["crimes"] / s["days"] * (30.44 if ba.precision == "month" else 7)
    unit = "month" if ba.precision == "month" else "week"
    ax.plot(s["start"], rate, marker="o", ms=3, color="#1d4e89", label="hot spots")
    if "comparison_crimes" in s.columns:
        c = s["comparison_crimes"] / s["days"] * (30.44 if ba.precision == "month" else 7)
        scale = rate[s["period"] == ba.before.name].mean() / max(
            c[s["period"] == ba.before.name].mean(), 1e-9
        )
        ax.plot(
            s["start"], c * scale, color="#999", lw=1.2, label=f"comparison (scaled x{scale:.3g})"
        )
    ax.axvline(pd.Timestamp(ba.during.start), color="#c33", ls="--", lw=1)  # type: ignore[arg-type]
    ax.set_ylabel(f"crimes per {unit}")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title("Crimes in the hot spots, before and during", fontsize=10)
    fig.autofmt_xdate()
    return fig_to_img(fig, "series of crimes before and during")


def forest_plot(ests: list[Estimate], planted: float | None = None) -> str:
    if not ests:
        return ""
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(ests) + 1.0))
    y = np.arange(len(ests))[::-1]
    for yi, e in zip(y, ests, strict=True):
        col = "#1d4e89" if e.outcome == "crimes" else "#8a4b00"
        hi = e.pct_hi if np.isfinite(e.pct_hi) else 200
        ax.plot([e.pct_lo, hi], [yi, yi], color=col, lw=2)
        ax.plot([e.pct_change], [yi], "o", color=col)
    ax.axvline(0, color="#333", lw=1)
    if planted is not None:
        ax.axvline(-100 * planted, color="#c33", ls=":", lw=1.2, label="planted effect")
        ax.legend(frameon=False, fontsize=8)
    ax.set_yticks(y)
    ax.set_yticklabels([e.name[:70] for e in ests], fontsize=7)
    ax.set_xlabel("% change (95% interval)")
    return fig_to_img(fig, "forest plot of effects")


def cost_chart(summary: pd.DataFrame) -> str:
    fig, ax = plt.subplots(figsize=(5, 2.6))
    ax.barh(summary["team"].astype(str), summary["per_minute"], color="#1d4e89")
    for i, v in enumerate(summary["per_minute"]):
        ax.text(
            v if np.isfinite(v) else 0.0,
            i,
            f" £{v:.2f}" if np.isfinite(v) else " no minutes",
            va="center",
            fontsize=8,
        )
    ax.set_xlabel("£ per minute of GPS-verified presence")
    return fig_to_img(fig, "cost per minute by team")


def _est_table(ests: list[Estimate]) -> str:
    df = pd.DataFrame(
        [
            {
                "estimate": e.name,
                "method": e.method,
                "% change": e.pct_change,
                "95% low": e.pct_lo,
                "95% high": e.pct_hi,
                "p": np.nan if e.p is None else e.p,
                "randomisation p": e.extra.get("randomisation_p", np.nan),
            }
            for e in ests
        ]
    )
    return table_html(df, floatfmt="{:,.3g}")


def _notes(notes: list[str]) -> str:
    return "".join(f'<p class="note">{esc(n)}</p>' for n in notes)


def before_after_section(ba: BeforeAfter) -> Section:
    body = (
        f"<p>Before {ba.before.start} to {ba.before.end} ({ba.before.days} days); during "
        f"{ba.during.start} to {ba.during.end} ({ba.during.days} days). Rates are per day.</p>"
        + "".join(f"<p>{esc(describe(e))}</p>" for e in ba.estimates)
        + series_chart(ba)
        + _est_table(ba.estimates)
        + _notes(ba.notes)
    )
    summary = [describe(e) for e in ba.estimates[:1]]
    if ba.estimates and ba.estimates[0].extra.get("empty_period"):
        # a fall to 0: what the -100% and its interval mean, and why nothing else is estimated
        summary.append(ba.estimates[0].notes[0])
    return Section(
        "Before and during",
        body,
        summary=summary,
        data=ba.to_dict(),
    )


def patrol_days_section(pd_: PatrolDays, planted: float | None = None) -> Section:
    prim = pd_.primary()
    lines = [describe(prim)]
    if planted is not None:
        lines.append(planted_statement(prim, planted))
    rp = prim.extra.get("randomisation_p")
    body = "".join(f"<p>{esc(s)}</p>" for s in lines)
    if rp is not None:
        nf = int(prim.extra.get("randomisation_failed") or 0)
        failed = (
            f"; {nf} could not be fitted and count as at least as extreme (conservative)"
            if nf
            else ""
        )
        body += f"<p>Randomisation inference ({prim.extra.get('randomisation_draws')} re-draws of the blocked assignment{failed}): p = {rp:.3g}.</p>"
    body += forest_plot(pd_.estimates, planted) + _est_table(pd_.estimates)
    if pd_.dose is not None and not pd_.dose.empty:
        body += "<h3>Dose-response by outreach minutes</h3>" + table_html(
            pd_.dose, floatfmt="{:,.3f}"
        )
    body += _notes(pd_.notes)
    return Section("Patrol days against no-patrol days", body, summary=lines, data=pd_.to_dict())


def displacement_section(d: Displacement) -> Section:
    rows = []
    for r in d.rings:
        w = r["wdd"]
        rows.append(
            {
                "ring": r["ring"],
                "WDQ": np.nan if r["wdq"] is None else r["wdq"],
                "WDD total": w["Est_Total"],
                "95% low": w["LowCI"],
                "95% high": w["HighCI"],
                "ring change": r["ring_change"]["est"],
            }
        )
    body = f"<p>{esc(d.statement())}</p>" + table_html(d.table) + table_html(pd.DataFrame(rows))
    if d.harm:
        h = d.harm
        body += (
            f"<p>Harm-weighted WDD: {h['HarmEst']:+,.0f} (95% interval {h['LowCI']:+,.0f} to "
            f"{h['HighCI']:+,.0f}).</p>"
        )
    body += _notes(d.notes)
    return Section("Displacement and diffusion", body, summary=[d.statement()], data=d.to_dict())


def per_prevented_line(c: dict[str, Any]) -> str:
    """One sentence for a cost per crime (or unit of harm) prevented, with the hot spots left
    out of both its cost and its crimes prevented."""
    lo, hi = c["cost_per_prevented_ci"]
    mid = c["cost_per_prevented"]
    what = "crime" if c["outcome"] == "crimes" else "unit of harm"
    src = f" ({c['from_estimate']})" if c.get("from_estimate") else ""
    if mid is None:
        line = f"Cost per {what} prevented{src}: not estimable (no reduction estimated)."
    elif not c["bounded"]:
        line = (
            f"Cost per {what} prevented{src}: £{mid:,.0f}, 95% interval from £{lo:,.0f} with no "
            f"upper bound ({c.get('note', '')})."
        )
    else:
        line = (
            f"Cost per {what} prevented{src}: £{mid:,.0f} (95% interval £{lo:,.0f} to £{hi:,.0f})."
        )
    if c.get("left_out_note"):
        line += f" Hot spots {c['left_out_note']}."
    return line


def cost_section(
    summary: pd.DataFrame, extra: list[str], per_prevented: list[dict[str, Any]]
) -> Section:
    body = cost_chart(summary) + table_html(summary) + "".join(f"<p>{esc(s)}</p>" for s in extra)
    lines = [per_prevented_line(c) for c in per_prevented]
    body += "".join(f"<p>{esc(s)}</p>" for s in lines)
    return Section(
        "Cost",
        body,
        summary=extra[:2] + lines,
        data={"teams": summary.to_dict(orient="records"), "per_prevented": per_prevented},
    )
