"""A TSV as a self-contained HTML page with a sortable table.

Snakemake's report offers a .tsv item only as a download; an HTML item is shown
in place. So every table the report lists is converted here: one file, no network
access (the report is read offline), a click on a header sorts by that column
(numerically where the column is numeric; missing values last), and the TSV itself
is embedded as a download link so the exact numbers stay one click away.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import pandas as pd

from opioidsocial.failsafe import stage
from opioidsocial.io.contracts import TextFile
from opioidsocial.io.tables import TsvSpec, read_tsv, write_text

#: Identifier columns that can look like numbers but are labels (participant 001).

# Inline so the report zip works offline; sorts by each cell's data-v (a number or text).
SORT_SCRIPT = """
document.querySelectorAll("th").forEach(function (th, col) {
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0];
    var up = th.getAttribute("aria-sort") !== "ascending";
    th.closest("tr").querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", up ? "ascending" : "descending");
    var numeric = th.dataset.type === "number";
    var rows = Array.from(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.v, y = b.cells[col].dataset.v;
      if (x === "") return 1;
      if (y === "") return -1;
      var d = numeric ? Number(x) - Number(y) : x.localeCompare(y);
      return up ? d : -d;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
"""

STYLE = """
body { font-family: sans-serif; font-size: 13px; margin: 1em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 2px 6px; }
th { background: #eee; cursor: pointer; position: sticky; top: 0; }
th[aria-sort=ascending]::after { content: " \\25B2"; }
th[aria-sort=descending]::after { content: " \\25BC"; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
"""


def _cell(value, numeric: bool) -> tuple[str, str]:
    """(sort key, shown text) of one cell; numbers are shown with 4 significant digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "", ""
    if numeric:
        return repr(float(value)), f"{value:.4g}" if isinstance(value, float) else str(value)
    return str(value), str(value)


def table_html(df: pd.DataFrame, *, title: str, tsv_name: str, tsv_text: str) -> str:
    """The page: a title, a row count, the download link and the sortable table."""
    numeric = {c: pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in df.columns}
    head = "".join(f'<th data-type="{"number" if numeric[c] else "text"}">{html.escape(str(c))}</th>' for c in df.columns)
    rows = []
    for record in df.itertuples(index=False):
        cells = []
        for column, value in zip(df.columns, record):
            key, shown = _cell(value, numeric[column])
            css = ' class="number"' if numeric[column] else ""
            cells.append(f'<td{css} data-v="{html.escape(key)}">{html.escape(shown)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    data = base64.b64encode(tsv_text.encode("utf-8")).decode("ascii")
    note = f"{len(df)} row{'s' if len(df) != 1 else ''}" + (" (empty)" if df.empty else "") + "; click a column header to sort."
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n<p>{note} "
        f'<a download="{html.escape(tsv_name)}" href="data:text/tab-separated-values;base64,{data}">Download {html.escape(tsv_name)}</a></p>\n'
        f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>\n' + "\n".join(rows) + "\n</tbody></table>\n"
        f"<script>{SORT_SCRIPT}</script>\n</body></html>\n"
    )


@stage("report_table", level="run", outputs={"html": TextFile("html")})
def run(*, inputs: dict, outputs: dict, cfg: dict, title: str, contract: TsvSpec, study: str | None = None) -> None:
    """Render one TSV of the workflow, read through its contract (``paths.REPORT_TABLES``), as a report page."""
    path = Path(inputs["tsv"])
    df = read_tsv(path, contract)
    page = table_html(df, title=f"{title}: {study}" if study else title, tsv_name=path.name, tsv_text=path.read_text(encoding="utf-8"))
    write_text(outputs["html"], page)
