"""Each file declared once: the rule files spell no path; opioidsocial.paths does.

Every string literal of workflow/rules/*.smk (docstrings aside) is read with
Python's tokenizer (the rule syntax tokenizes as Python); one that names a folder or
a file (a slash, or a file extension) is a path that belongs in the registry.
"""

from __future__ import annotations

import io
import re
import tokenize

from opioidsocial.io import contracts
from opioidsocial.io.tables import TsvSpec
from opioidsocial.paths import FILES, REPORT_TABLES, layout
from tests.conftest import REPO

RULES = sorted((REPO / "workflow" / "rules").glob("*.smk"))
PATHLIKE = re.compile(r"/|\.(tsv|parquet|json|png|svg|log|py|ya?ml|rst|html|txt|csv)\b")


def path_strings(text: str) -> list[str]:
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    # Docstrings describe files; they name none to the workflow.
    literals = [tok.string for tok in tokens if tok.type == tokenize.STRING and not tok.string.startswith(('"""', "'''"))]
    return [s for s in literals if PATHLIKE.search(s)]


def test_no_rule_file_spells_a_path():
    found = {path.name: path_strings(path.read_text()) for path in RULES}
    assert len(RULES) >= 6
    assert {name: strings for name, strings in found.items() if strings} == {}


def test_the_count_sees_a_path():
    assert path_strings('rule x:\n    output:\n        f"{P.model}/fixef.tsv",\n    script:\n        "../../scripts/x.py"\n') == [
        'f"{P.model}/fixef.tsv"', '"../../scripts/x.py"']


def test_every_file_has_a_contract_and_one_place():
    templates = [f.template for f in FILES.values()]
    assert len(set(templates)) == len(templates)
    named = {id(value) for value in vars(contracts).values()}
    for name, f in FILES.items():
        assert f.template.startswith("{results}/"), name
        assert id(f.contract) in named or isinstance(f.contract, contracts.FigureFile | contracts.TextFile | contracts.Folder), name


def test_report_tables_are_tsv_files_of_the_registry():
    P = layout("results")
    for name, table in REPORT_TABLES.items():
        assert isinstance(table.contract, TsvSpec) and P[table.file].endswith(".tsv"), name
        assert (REPO / "workflow" / "report" / f"{name}.rst").is_file(), name
