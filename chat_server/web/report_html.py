"""The evaluation report as one server-rendered HTML page with inline SVG bar charts.

No script: the page is complete as served, prints on A4 (``/static/report.css`` has the print
rules) and every chart repeats a table printed right below it, so the chart is hidden from
assistive technology and the table carries the numbers. Every text is escaped here; the
texts come from the report (fixed words, configured survey texts), never from a visitor.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from html import escape
from typing import Final
from urllib.parse import urlencode

from ..domain.evaluation_report import (
    MAX_REPORT_DAYS,
    EvaluationReport,
    Section,
    Table,
    format_day,
    shown_cell,
    words,
)
from ..domain.stats_export import Cell

CHART_WIDTH: Final = 680
LABEL_WIDTH: Final = 250
BAR_MAX_WIDTH: Final = 320
ROW_HEIGHT: Final = 24
BAR_HEIGHT: Final = 15
MAX_LABEL_CHARS: Final = 34

_FORM: Final = {
    "sv": {"from": "Från", "to": "Till", "show": "Visa rapporten", "csv": "Ladda ner som CSV",
           "print": "Skriv ut med webbläsarens utskrift (A4).", "choose": "Välj period",
           "max": f"Högst {MAX_REPORT_DAYS} dagar.", "skip": "Till rapporten"},
    "en": {"from": "From", "to": "To", "show": "Show the report", "csv": "Download as CSV",
           "print": "Print with the browser's print command (A4).", "choose": "Choose period",
           "max": f"At most {MAX_REPORT_DAYS} days.", "skip": "To the report"},
}  # fmt: skip
_ERROR_TITLE: Final = {"sv": "Rapporten kan inte visas", "en": "The report cannot be shown"}
_BACK: Final = {"sv": "Tillbaka till rapporten", "en": "Back to the report"}


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"


def bar_chart(table: Table, lang: str) -> str:
    """An SVG of horizontal bars, one per row, of the table's first column. A withheld cell
    gets no bar and its marker in words ("färre än 5", "dolt") instead of a number."""
    rows = table.rows[:-1] if table.total_row else table.rows
    values: list[Cell] = [cells[0] for _, cells in rows]
    top = max((v for v in values if isinstance(v, int)), default=0)
    height = ROW_HEIGHT * len(values) + 8
    parts = [
        f'<svg class="chart" viewBox="0 0 {CHART_WIDTH} {height}" width="{CHART_WIDTH}" '
        f'height="{height}" aria-hidden="true" focusable="false">'
    ]
    for i, ((label, _), value) in enumerate(zip(rows, values, strict=True)):
        y = 4 + i * ROW_HEIGHT
        middle = y + ROW_HEIGHT / 2
        parts.append(
            f'<text class="chart-label" x="{LABEL_WIDTH - 8}" y="{middle:.1f}" '
            f'text-anchor="end" dominant-baseline="middle">{escape(_short(label))}</text>'
        )
        width = 0.0
        if isinstance(value, int) and top > 0:
            width = max(value / top * BAR_MAX_WIDTH, 1.0 if value else 0.0)
            parts.append(
                f'<rect class="chart-bar" x="{LABEL_WIDTH}" y="{middle - BAR_HEIGHT / 2:.1f}" '
                f'width="{width:.1f}" height="{BAR_HEIGHT}"/>'
            )
        parts.append(
            f'<text class="chart-value" x="{LABEL_WIDTH + width + 6:.1f}" y="{middle:.1f}" '
            f'dominant-baseline="middle">{escape(shown_cell(value, lang))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _row(label: str, cells: Iterable[Cell], lang: str) -> str:
    shown = "".join(f"<td>{escape(shown_cell(cell, lang))}</td>" for cell in cells)
    return f'<tr><th scope="row">{escape(label)}</th>{shown}</tr>'


def _table(table: Table, lang: str, chart: bool) -> str:
    heading = f'<h3 id="t-{escape(table.key)}">{escape(table.title)}</h3>'
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in table.columns)
    in_body = table.rows[:-1] if table.total_row else table.rows
    body = "".join(_row(label, cells, lang) for label, cells in in_body)
    foot = f"<tfoot>{_row(*table.rows[-1], lang)}</tfoot>" if table.total_row else ""
    drawn = bar_chart(table, lang) if chart and table.chart else ""
    return (
        f'<div class="report-table">{heading}{drawn}'
        f'<table aria-labelledby="t-{escape(table.key)}"><thead><tr>'
        f'<th scope="col">{escape(table.label_header)}</th>{head}</tr></thead>'
        f"<tbody>{body}</tbody>{foot}</table></div>"
    )


def _figures(section: Section) -> str:
    if not section.figures:
        return ""
    items = "".join(
        f"<div><dt>{escape(f.label)}</dt><dd>{escape(f.value)}</dd></div>" for f in section.figures
    )
    return f'<dl class="figures">{items}</dl>'


def _section(section: Section, lang: str, chart: bool) -> str:
    tables = "".join(_table(t, lang, chart) for t in section.tables)
    return (
        f'<section class="report-section" id="{escape(section.key)}" '
        f'aria-labelledby="h-{escape(section.key)}">'
        f'<h2 id="h-{escape(section.key)}">{escape(section.title)}</h2>'
        f"{_figures(section)}{tables}</section>"
    )


def _page(lang: str, title: str, body: Iterable[str]) -> str:
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{escape(title)}</title>'
        '<link rel="stylesheet" href="/static/report.css"></head>'
        f"<body>{''.join(body)}</body></html>"
    )


def query(start: date, end: date, lang: str) -> str:
    """The query string of a report (and its CSV)."""
    return urlencode({"from": start.isoformat(), "to": end.isoformat(), "lang": lang})


def _period_form(start: str, end: str, lang: str) -> str:
    f = _FORM[lang]
    return (
        '<form class="period no-print" method="get" action="/supervisor/report">'
        f"<fieldset><legend>{f['choose']}</legend>"
        f'<label for="from">{f["from"]}</label>'
        f'<input type="date" id="from" name="from" value="{escape(start)}" required>'
        f'<label for="to">{f["to"]}</label>'
        f'<input type="date" id="to" name="to" value="{escape(end)}" required>'
        f'<input type="hidden" name="lang" value="{lang}">'
        f'<button type="submit">{f["show"]}</button>'
        f'<p class="hint">{f["max"]}</p></fieldset></form>'
    )


def render_report(report: EvaluationReport) -> str:
    """The whole page of ``report``."""
    lang, span = report.lang, report.span
    w, f = words(lang), _FORM[lang]
    period = (
        f"{w['period']}: {format_day(span.start, lang)} – {format_day(span.end, lang)} "
        f"({span.days} {w['days']})"
    )
    csv_link = f"/supervisor/report.csv?{query(span.start, span.end, lang)}"
    header = (
        '<header class="report-head">'
        f'<a class="skip no-print" href="#report">{f["skip"]}</a>'
        f'<h1>{escape(w["title"])}</h1><p class="period-line">{escape(period)}</p>'
        f"{_period_form(span.start.isoformat(), span.end.isoformat(), lang)}"
        f'<p class="no-print"><a href="{escape(csv_link)}">{f["csv"]}</a> · {f["print"]}</p>'
        f'<p class="note">{escape(w["created"])} {escape(w["suppression_note"])}</p>'
        f'<p class="note">{escape(w["counting_note"])}</p></header>'
    )
    if report.has_data:
        main = "".join(_section(s, lang, chart=True) for s in report.sections)
    else:
        main = f'<p class="empty">{escape(w["no_data"])}</p>'
    return _page(lang, f"{w['title']} – {period}", (header, f'<main id="report">{main}</main>'))


def render_error(lang: str, message: str, start: str, end: str) -> str:
    """The 400 page: what is wrong, in the page's language, and the form to try again."""
    return _page(
        lang,
        _ERROR_TITLE[lang],
        (
            '<main id="report">',
            f"<h1>{_ERROR_TITLE[lang]}</h1>",
            f'<p class="error" role="alert">{escape(message)}</p>',
            _period_form(start[:10], end[:10], lang),
            "</main>",
        ),
    )
