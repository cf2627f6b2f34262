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
