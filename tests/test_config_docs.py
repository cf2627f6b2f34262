"""config/README.md documents every key and is generated from the schemas: it must be current."""

from opioidsocial.config_docs import config_reference
from tests.conftest import REPO


def test_config_readme_is_generated_from_the_current_schemas():
    written = (REPO / "config" / "README.md").read_text()
    assert written == config_reference(), "config/README.md is out of date: python -m opioidsocial.config_docs > config/README.md"


def test_every_documented_key_has_a_description():
    bullets = [line for line in config_reference().splitlines() if line.startswith("- **`")]
    assert len(bullets) > 80
    assert [b for b in bullets if not b.split("): ", 1)[-1].strip() or "): " not in b] == []


def test_every_config_key_says_what_it_reruns_and_labs_find_theirs_first():
    text = config_reference()
    config_part = text[:text.index("## Sheet:")]
    bullets = [line for line in config_part.splitlines() if line.startswith("- **`")]
    silent = [b[:80] for b in bullets if "reruns" not in b and "read by `opioidsocial simulate`" not in b]
    assert silent == []
    # nested keys say the steps of the key whose step config holds them
    assert "- **`pet.srtm.bounds.r1`** (array; default `[0.05, 5.0]`; reruns `pet_fit`" in text
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings[:2] == ["## Keys labs change first", "## Top level"]
    assert headings.index("## `simulate`: simulator options") > headings.index("## `meta`: meta options")
