"""The report: its package functions (fast) and the report of a tiny run (EMG, PET TACs and a
summary study) as a zip and as the HTML a browser renders."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

from opioidsocial.failsafe import exclusion_table
from opioidsocial.io.contracts import EXCLUSIONS, PET_BP, TRIAL_RESPONSES
from opioidsocial.io.tables import TableSchemaError, write_table
from opioidsocial.report import html_table
from opioidsocial.report.html_table import table_html
from opioidsocial.report.inputs import study_inputs
from opioidsocial.report.overview import gather_exclusions, overview
from opioidsocial.report.software import config_table, config_yaml, versions_table
from tests.conftest import TINY_PET, WORKFLOW_TINY_EMG, finished_run, snakemake

# ---------------------------------------------------------------- unit tests (fast)


def _cells(page: str) -> list[list[str]]:
    """The data-v sort keys of every body row of a table page."""
    body = page.split("<tbody>", 1)[1]
    return [re.findall(r'data-v="([^"]*)"', row) for row in re.findall(r"<tr>(.*?)</tr>", body)]


def test_table_html_sort_keys_formatting_and_escaping():
    df = pd.DataFrame({"participant": ["007", "<b>"], "estimate": [0.123456789, float("nan")], "k": [3, 12]})
    page = table_html(df, title="t & u", tsv_name="x.tsv", tsv_text="a\tb\n")
    assert '<th data-type="text">participant</th><th data-type="number">estimate</th><th data-type="number">k</th>' in page
    assert _cells(page) == [["007", "0.123456789", "3.0"], ["&lt;b&gt;", "", "12.0"]]
    assert ">0.1235</td>" in page and "<b>" not in page.split("<body>")[1].split("<script>")[0]
    assert "<title>t &amp; u</title>" in page and "2 rows;" in page
    assert 'download="x.tsv" href="data:text/tab-separated-values;base64,YQliCg=="' in page  # base64 of "a\tb\n"


def test_table_page_reads_its_contract_keeps_ids_as_text_and_handles_an_empty_table(tmp_path):
    path, page = tmp_path / "exclusions.tsv", tmp_path / "page.html"

    def render() -> str:
        html_table.run(inputs={"tsv": str(path)}, outputs={"html": str(page)}, cfg={"on_bad_data": "fail"}, title="t", contract=EXCLUSIONS)
        return page.read_text()

    path.write_text("study\tparticipant\tlevel\tmuscle\ttrial\tstage\treason\n")
    assert "0 rows (empty)" in render()
    path.write_text("study\tparticipant\tlevel\tmuscle\ttrial\tstage\treason\ns\t001\ttrial\tcorrugator\t07\tpet_fit\t4\n")
    assert _cells(render()) == [["s", "001", "trial", "corrugator", "07", "pet_fit", "4"]]
    path.write_text("study\tparticipant\tn\ns\t001\t4\n")
    with pytest.raises(TableSchemaError, match="expected \\['study', 'participant', 'level', 'muscle', 'trial', 'stage', 'reason'\\]"):
        render()


def test_gather_exclusions_sorts_and_keeps_labels(tmp_path):
    a, b = tmp_path / "a.tsv", tmp_path / "b.tsv"
    a.write_text("study\tparticipant\tlevel\tmuscle\ttrial\tstage\treason\nzz\t010\troi\t\t\tpet_fit\tSRTM pag rejection: bad\nzz\t002\tparticipant\t\t\tpet_fit\tx\n")
    b.write_text("study\tparticipant\tlevel\tmuscle\ttrial\tstage\treason\nzz\t002\ttrial\t\t10\temg_preprocess\tpast the end\nzz\t002\ttrial\t\t9\temg_preprocess\tpast the end\n")
    table = gather_exclusions([str(a), str(b)])
    # trials in number order (9 before 10), empty cells empty, labels as text
    assert table[["participant", "level", "muscle", "trial"]].values.tolist() == [
        ["002", "participant", "", ""], ["002", "trial", "", "9"], ["002", "trial", "", "10"], ["010", "roi", "", ""]]
    b.write_text("study\tparticipant\treason\n")
    with pytest.raises(TableSchemaError, match="expected \\['study', 'participant', 'level', 'muscle', 'trial', 'stage', 'reason'\\]"):
        gather_exclusions([str(b)])


def _participants(root: Path, labels: list[str]) -> None:
    root.mkdir(parents=True)
    (root / "participants.tsv").write_text("participant_id\tarm\n" + "".join(f"sub-{p}\tplacebo\n" for p in labels))


def test_overview_counts_enrolled_and_analysed(tmp_path):
    emg = {"study": "e", "modality": "emg", "input": "bids", "design": "between", "drug": "naltrexone", "direction": -1,
           "reference": "placebo", "sample_group": "g", "path": str(tmp_path / "e")}
    pet = {**emg, "study": "p", "modality": "pet", "input": "tac", "design": "within", "reference": "baseline", "path": str(tmp_path / "p")}
    _participants(tmp_path / "e", ["001", "002", "003"])
    _participants(tmp_path / "p", ["01", "02"])
    files = {row["study"]: study_inputs(row, str(tmp_path / "results")) for row in (emg, pet)}
    trials = pd.DataFrame({"study": "e", "participant": ["001", "002"], "arm": "placebo", "trial": 1, "stimulus": "s",
                           "emotion": "happy", "muscle": "corrugator", "response_uv": 1.0}).astype({"trial": "int32"})
    write_table(trials, files["e"]["trials"], TRIAL_RESPONSES)
    Path(files["e"]["fit"]).write_text(json.dumps({"study": "e", "estimable": True, "not_estimable_reason": None, "models": [], "data": {}}))
    # Participant 01 has only a flagged SRTM fit and a usable Logan fit: not analysed with SRTM.
    bp = pd.DataFrame({"study": "p", "participant": ["01", "01", "02"], "roi": "vs", "condition": "baseline",
                       "model": ["SRTM", "Logan", "SRTM"], "bp_nd": [9.0, 2.0, 2.0], "r1": 1.0, "k2": 0.1, "rmse": 0.1,
                       "fit_ok": [False, True, True], "flag_reason": ["implausible", "", ""]})
    write_table(bp, files["p"]["bp"], PET_BP)
    table = overview([emg, pet], files=files, pet_model="SRTM")
    assert table[["study", "n_enrolled", "n_analysed"]].to_dict("records") == [
        {"study": "e", "n_enrolled": 3, "n_analysed": 2}, {"study": "p", "n_enrolled": 2, "n_analysed": 1}]
    assert overview([pet], files=files, pet_model="Logan")["n_analysed"].tolist() == [1]
    Path(files["e"]["fit"]).write_text(json.dumps({"study": "e", "estimable": False, "not_estimable_reason": "no placebo arm", "models": [], "data": {}}))
    assert overview([emg], files=files, pet_model="SRTM")["n_analysed"].tolist() == [0]


def test_config_table_and_yaml_are_sorted_and_complete():
    config = {"meta": {"methods": ["REML", "DL"], "level": 0.95}, "results": "results", "report": {}}
    assert config_table(config).to_dict("records") == [
        {"key": "meta.level", "value": "0.95"}, {"key": "meta.methods", "value": '["REML", "DL"]'},
        {"key": "report", "value": "{}"}, {"key": "results", "value": "results"}]
    assert yaml.safe_load(config_yaml(config)) == config
    assert config_yaml(config).startswith("meta:")


def test_versions_table_lists_python_and_the_key_packages():
    table = versions_table()
    assert table["package"].tolist() == sorted(table["package"])
    assert {"python", "opioidsocial", "snakemake", "numpy"} <= set(table["package"])
    assert table.loc[table["package"] == "python", "version"].item() == ".".join(map(str, sys.version_info[:3]))


# ---------------------------------------------------------------- the report of a tiny run

STUDIES = (
    "study\tmodality\tinput\tdesign\tdrug\tdirection\treference\tsample_group\tpath\ttask\tdescription\n"
    "tinyemg\temg\tbids\tbetween\tnaltrexone\t-1\tplacebo\ttiny\tdata/tinyemg\tfaces\ttiny EMG study\n"
    "tinypet\tpet\ttac\twithin\tsocial_rejection\t1\tbaseline\tlab\tdata/tinypet\t\ttiny PET study\n"
    "tinysum\tsummary\tsummary\tbetween\tnaltrexone\t-1\tplacebo\tother\tdata/tinysum/summary.tsv\t\tpublished statistics\n"
)
CONFIG = {
    "studies": "config/studies.tsv",
    "on_bad_data": "exclude",
    "simulate": {"seed": 1, "emg": {"tinyemg": WORKFLOW_TINY_EMG}, "pet": {"tinypet": {**TINY_PET, "participants": 3}},
                 "summary": {"tinysum": {"effects": [{"outcome": "corrugator to happy faces", "report": "t", "n": 30, "effect": 0.2}]}}},
    # A plausible-BPND ceiling inside the simulated spread, so that some fits are flagged and listed as exclusions.
    "pet": {"traits": ["resiliency"], "plausible": {"bp_nd": [0.0, 2.35]}},
    "meta": {"methods": ["REML"], "multilevel": {"models": [{"name": "by_family", "scope": "family"}]}},
}
#: Every item the report must hold (file names inside the zip), beyond the forest plots.
ITEMS = [
    "overview.html", "exclusions.html", "exclusion_counts.html",
    "001.png", "002.png", "003.png", "004.png", "01.png", "02.png", "03.png",
    "emmeans.png", "timecourses.png", "emg_contrasts.html",
    "pet_paired.png", "pet_correlations.png", "pet_paired_table.html", "pet_correlations_table.html",
    "funnel.png", "meta_pooled.html", "meta_regression.html", "meta_multilevel.html", "meta_sensitivity.html",
    "meta_leave1out.html", "meta_influence.html", "meta_cumulative_table.html",
    "versions.html", "config.html", "config.yaml",
]
#: (category, subcategory, item label) rows the rendered report must list, besides the QC figures.
RENDERED = [
    ("1 Overview", "Studies", "studies, designs and N"),
    ("1 Overview", "Exclusions", "exclusions with reasons"),
    ("1 Overview", "Exclusions", "exclusions per study and arm"),
    ("3 Study results", "tinyemg", "EMG time courses"),
    ("3 Study results", "tinyemg", "EMG marginal means"),
    ("3 Study results", "tinyemg", "EMG planned contrasts (table)"),
    ("3 Study results", "tinypet", "PET per-ROI changes"),
    ("3 Study results", "tinypet", "PET trait correlations"),
    ("3 Study results", "tinypet", "PET paired tests per ROI (table)"),
    ("4 Meta-analysis", "Plots", "funnel plot"),
    ("4 Meta-analysis", "Tables", "pooled estimates and heterogeneity"),
    ("4 Meta-analysis", "Tables", "meta-regression"),
    ("4 Meta-analysis", "Tables", "multilevel models"),
    ("4 Meta-analysis", "Tables", "small-study tests"),
    ("4 Meta-analysis", "Tables", "cumulative meta-analysis by year"),
    ("5 Provenance", "5 Provenance", "software versions"),
    ("5 Provenance", "5 Provenance", "config used (table)"),
    ("5 Provenance", "5 Provenance", "config used (YAML, to rerun)"),
]

# Appended to the report page: the report is a single-page app with no URLs per view, so
# the script clicks through every category and subcategory as a reader would and writes
# what each view lists into the page, which --dump-dom then returns.
WALK = """
<script>
(async function () {
  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
  const links = () => Array.from(document.querySelectorAll("li > a"));
  const open = (text) => { const link = links().find((a) => a.textContent.trim() === text); if (link) link.click(); return Boolean(link); };
  const home = async () => { document.querySelector("a.hover\\\\:text-emerald-600").click(); await sleep(200); };
  await sleep(1000);
  const found = [];
  for (const category of links().map((a) => a.textContent.trim()).filter((t) => /^[0-9] /.test(t))) {
    await home(); open(category); await sleep(200);
    for (const sub of links().map((a) => a.textContent.trim())) {
      await home(); open(category); await sleep(200);
      if (!open(sub)) continue;
      await sleep(300);
      for (const row of document.querySelectorAll("tbody tr")) found.push([category, sub, row.textContent.trim()].join(" | "));
    }
  }
  const out = document.createElement("pre");
  out.id = "report-walk";
  out.textContent = found.join("\\n");
  document.body.appendChild(out);
})();
</script>
"""
# Clicks the n_analysed header of a table page twice (descending) and records the study order.
SORT = """
<script>
const header = Array.from(document.querySelectorAll("th")).find((th) => th.textContent === "n_analysed");
header.click(); header.click();
const out = document.createElement("pre");
out.id = "sorted";
out.textContent = Array.from(document.querySelectorAll("tbody tr")).map((tr) => tr.cells[0].textContent).join(",");
document.body.appendChild(out);
</script>
"""


@pytest.fixture(scope="module")
def report_run(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("report")
    finished_run(work, STUDIES, CONFIG)
    for target in ("report.zip", "report.html"):
        made = snakemake(work, "--report", target)
        assert made.returncode == 0, made.stderr[-5000:]
    return work


@pytest.mark.workflow
def test_zip_holds_every_item_non_empty(report_run):
    with zipfile.ZipFile(report_run / "report.zip") as archive:
        sizes = {Path(info.filename).name: info.file_size for info in archive.infolist() if not info.is_dir()}
    missing = [name for name in ITEMS if name not in sizes]
    assert not missing, f"report.zip lacks {missing}"
    assert all(sizes[name] > 0 for name in ITEMS)
    assert "corrugator_to_happy_faces.png" in sizes  # a forest plot per outcome family
    assert sizes["report.html"] > 0


@pytest.mark.workflow
def test_overview_and_exclusions_tables(report_run):
    results = report_run / "results"
    table = pd.read_csv(results / "overview.tsv", sep="\t")
    summary = pd.read_csv(report_run / "data/tinysum/summary.tsv", sep="\t")
    assert table["study"].tolist() == ["tinyemg", "tinypet", "tinysum"]
    assert table["n_enrolled"].tolist() == [4, 3, int((summary["n1"] + summary["n2"]).max())]
    assert table["n_analysed"].iloc[0] == 4 and 1 <= table["n_analysed"].iloc[1] <= 3
    exclusions = pd.read_csv(results / "exclusions.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert list(exclusions.columns) == list(EXCLUSIONS.columns)
    assert len(exclusions) > 0 and set(exclusions["stage"]) == {"pet_fit"} and set(exclusions["level"]) == {"roi"}
    assert exclusions["reason"].str.contains("outside plausible").all()
    assert exclusions.equals(exclusion_table(exclusions.sample(frac=1.0, random_state=1)))
    counts = pd.read_csv(results / "exclusion_counts.tsv", sep="\t", dtype={"study": str, "arm": str})
    assert counts[["study", "arm"]].values.tolist() == [["tinyemg", "naltrexone"], ["tinyemg", "placebo"], ["tinypet", "all"]]
    assert counts["excluded_rois"].sum() == len(exclusions) and counts["n_enrolled"].tolist() == [2, 2, 3]
    page = (results / "report" / "overview.html").read_text()
    assert len(_cells(page)) == 3 and '<table class="sortable">' in page
    versions = pd.read_csv(results / "provenance" / "versions.tsv", sep="\t")
    assert {"python", "opioidsocial", "snakemake"} <= set(versions["package"])
    assert yaml.safe_load((results / "provenance" / "config.yaml").read_text())["pet"]["plausible"]["bp_nd"] == [0.0, 2.35]


def _chromium(page: Path, tmp_path: Path, script: str) -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium); the rendered-report check needs a headless browser")
    walked = tmp_path / page.name
    walked.write_text(page.read_text(encoding="utf-8") + script, encoding="utf-8")
    dump = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=30000", "--dump-dom", walked.as_uri()],
                          capture_output=True, text=True, timeout=300)
    assert dump.returncode == 0, dump.stderr[-3000:]
    return dump.stdout


@pytest.mark.workflow
def test_browser_renders_every_category_and_item(report_run, tmp_path):
    dom = _chromium(report_run / "report.html", tmp_path, WALK)
    walk = re.search(r'<pre id="report-walk">(.*?)</pre>', dom, re.S)
    assert walk, "the walk script did not finish inside the virtual time budget"
    rows = {tuple(line.split(" | ")) for line in walk.group(1).splitlines()}
    assert [r for r in RENDERED if r not in rows] == []
    qc = {(sub, item) for category, sub, item in rows if category == "2 Quality control"}
    assert qc == {("tinyemg", p) for p in ("001", "002", "003", "004")} | {("tinypet", p) for p in ("01", "02", "03")}
    assert any(category == "4 Meta-analysis" and item.startswith("forest plot: ") for category, _, item in rows)


@pytest.mark.workflow
def test_browser_sorts_a_table_page(report_run, tmp_path):
    dom = _chromium(report_run / "results" / "report" / "overview.html", tmp_path, SORT)
    order = re.search(r'<pre id="sorted">(.*?)</pre>', dom).group(1).split(",")
    table = pd.read_csv(report_run / "results" / "overview.tsv", sep="\t")
    assert order == table.sort_values("n_analysed", ascending=False, kind="stable")["study"].tolist()
