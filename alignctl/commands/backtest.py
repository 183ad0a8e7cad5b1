"""`alignctl backtest`: precision, recall and lift of each stage definition, deciles and AUC of
each score, hit and won rates of each rule, against the leads' real outcomes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import EXIT_USAGE, emit_diagnostics, policy_argument, require_valid

FORMATS = ("text", "markdown", "json", "html")


@click.command()
@policy_argument
@click.option("--leads", "leads", required=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="CRM export (CSV or Parquet): lead fields and stage timestamps.")
@click.option("--events", "events", type=click.Path(dir_okay=False), metavar="FILE",
              help="Events (CSV or Parquet) the scoring reads.")
@click.option("--as-of", "as_of", metavar="TS",
              help="Measure as of this time (default: the latest timestamp in the data).")
@click.option("--columns", "columns_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Column mapping (policy column: input column), YAML or JSON.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--out", "-o", "out", type=click.Path(dir_okay=False),
              help="Write here instead of stdout.")
def command(policy: str, leads: str, events: str | None, as_of: str | None,
            columns_file: str | None, fmt: str, out: str | None) -> None:
    """Measure POLICY against what happened to real leads.

    \b
    Examples:
      alignctl backtest --leads leads.csv --events events.csv
      alignctl backtest examples/acme-saas/alignment.yaml \\
          --leads examples/data/replay/leads.csv --events examples/data/replay/events.csv \\
          --format html --out backtest.html

    The history is replayed per policy period with the policy's own scoring SQL; outcome known =
    reached the won stage, or disqualified. Exit status: 0 measured, 1 the policy has errors,
    2 an input cannot be used.
    """
    result = require_valid(policy)
    emit_diagnostics(result, "text", quiet_ok=True)
    from alignctl.backtest import run
    from alignctl.columns import ColumnError, read_mapping
    from alignctl.commands.score import InputError, parse_as_of
    from alignctl.replay import Inputs, ReplayError

    try:
        inputs = Inputs(Path(leads), Path(events) if events else None,
                        parse_as_of(as_of) if as_of else None, read_mapping(columns_file))
        doc = run(result.policy, inputs)
    except (ReplayError, InputError, ColumnError) as exc:
        click.echo(f"alignctl: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    text = RENDER[fmt](doc)
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        tmp = Path(out).with_name(Path(out).name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        click.echo(f"alignctl: cannot write --out `{out}`: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_USAGE)


def _pct(x) -> str:
    return "—" if x is None else f"{x * 100:.1f} %"


def _f(x, digits: int = 2) -> str:
    return "—" if x is None else f"{x:,.{digits}f}"


def _n(x) -> str:
    return "—" if x is None else f"{x:,}"


def summary(doc: dict) -> str:
    o = doc.get("outcomes")
    head = (f"{doc['policy']['name']} {doc['policy']['version']}: {_n(doc['leads'])} leads as of "
            f"{doc['as_of']}, {doc['periods']} {doc['period']}s replayed")
    if not o:
        return head
    return head + f"; outcome known for {_n(o['known'])}, {_n(o['won'])} won ({_pct(o['rate'])})"


def stage_rows(doc: dict) -> list[list[str]]:
    return [[s["stage"], _n(s["qualified"]), _n(s["qualified_won"]), _pct(s["precision"]),
             _pct(s["recall"]), _f(s["lift"])] for s in doc.get("stages", ())]


def decile_rows(model: dict) -> list[list[str]]:
    return [[str(d["decile"]), f"{_f(d['min_score'])}–{_f(d['max_score'])}", _n(d["leads"]),
             _n(d["won"]), _pct(d["rate"]), _f(d["lift"])] for d in model["deciles"]]


def rule_rows(doc: dict) -> list[list[str]]:
    return [[r["rule"], r["model"], f"{r['points']:+d}", _n(r["fired"]), _pct(r["hit_rate"]),
             _pct(r["won_rate"]), _f(r["lift"])] for r in doc.get("rules", ())]


STAGE_HEAD = ["Stage", "Qualified", "Won", "Precision", "Recall", "Lift"]
DECILE_HEAD = ["Decile", "Score", "Leads", "Won", "Won rate", "Lift"]
RULE_HEAD = ["Rule", "Model", "Points", "Fired", "Hit rate", "Won rate", "Lift"]


def render_text(doc: dict) -> str:
    out = [summary(doc)]
    if "not_measurable" in doc:
        out.append(f"not measurable: {doc['not_measurable']}")
    else:
        out += ["", "stage definitions"] + _table(STAGE_HEAD, stage_rows(doc))
        for m in doc["models"]:
            out += ["", f"{m['model']}: AUC {_f(m['auc'], 3)}"]
            out += _table(DECILE_HEAD, decile_rows(m))
        out += ["", "rules"] + _table(RULE_HEAD, rule_rows(doc))
    out += [f"note: {n}" for n in doc["notes"]]
    out += [f"data quality: {d['kind']}: {d['count']}" for d in doc["data_quality"]]
    return "\n".join(out) + "\n"


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    return ["  " + fmt.format(*r) for r in [head, *rows]]


def render_markdown(doc: dict) -> str:
    from alignctl.commands.diff import md

    out = ["### alignctl backtest", "", md(summary(doc)), ""]
    if "not_measurable" in doc:
        out += [f"Not measurable: {md(doc['not_measurable'])}", ""]
    else:
        out += ["#### Stage definitions", ""] + _md(STAGE_HEAD, stage_rows(doc))
        for m in doc["models"]:
            out += [f"#### {md(m['model'])}: AUC {_f(m['auc'], 3)}", ""]
            out += _md(DECILE_HEAD, decile_rows(m))
        out += ["#### Rules", ""] + _md(RULE_HEAD, rule_rows(doc))
    out += [f"> {md(n)}" for n in doc["notes"]]
    return "\n".join(out) + "\n"


def _md(head: list[str], rows: list[list[str]]) -> list[str]:
    from alignctl.commands.diff import md

    return (["| " + " | ".join(head) + " |", "|---|" + "--:|" * (len(head) - 1)]
            + ["| " + " | ".join(md(c) for c in r) + " |" for r in rows] + [""])


def render_json(doc: dict) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_html(doc: dict) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("alignctl", "templates"),
                             autoescape=True, keep_trailing_newline=True)
    charts = {m["model"]: lift_chart(m) for m in doc.get("models", ())}
    return env.get_template("backtest.html.j2").render(
        doc=doc, summary=summary(doc), charts=charts, stage_head=STAGE_HEAD,
        stage_rows=stage_rows(doc), decile_head=DECILE_HEAD, decile_rows=decile_rows,
        rule_head=RULE_HEAD, rule_rows=rule_rows(doc), f=_f)


def lift_chart(model: dict) -> dict:
    """Bar geometry for the lift-by-decile chart (drawn by the template as inline SVG)."""
    lifts = [d["lift"] or 0.0 for d in model["deciles"]]
    top = max([1.0, *lifts])
    w, h, pad = 40, 160, 24
    bars = [{"x": pad + i * (w + 8), "y": pad + h - h * v / top, "h": h * v / top, "w": w,
             "label": str(d["decile"]), "value": _f(d["lift"])}
            for i, (v, d) in enumerate(zip(lifts, model["deciles"], strict=True))]
    return {"bars": bars, "width": pad * 2 + len(bars) * (w + 8), "height": h + pad * 2 + 16,
            "base_y": pad + h, "one_y": pad + h - h / top, "pad": pad}


RENDER = {"text": render_text, "markdown": render_markdown, "json": render_json,
          "html": render_html}
