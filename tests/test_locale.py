"""The shipped catalogs (``inbox/locale``) against the code: ``makemessages`` run on a copy of
the app finds exactly the msgids the catalogs hold, in both domains, every one translated, and
the compiled ``.mo`` files say what their ``.po`` files say.

These need GNU gettext (``make test`` installs it where it can); without it they are skipped.
"""

from __future__ import annotations

import ast
import gettext
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "inbox"
LANGUAGES = ("pt", "ar")
DOMAINS = ("django", "djangojs")

pytestmark = [
    pytest.mark.single_pass,
    pytest.mark.skipif(
        not (shutil.which("xgettext") and shutil.which("msgfmt") and shutil.which("msgmerge")),
        reason="GNU gettext is not installed (make test installs it: apt-get install gettext)",
    ),
]


def po_entries(path: Path) -> dict[str, tuple[str, bool]]:
    """msgid -> (msgstr, fuzzy) of a .po file (the subset of the format makemessages writes:
    no contexts or plurals, which inbox does not use)."""
    entries: dict[str, tuple[str, bool]] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = [line for line in block.splitlines() if line and not line.startswith("#~")]
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        fields: dict[str, str] = {}
        current = None
        for line in lines:
            if line.startswith("#"):
                continue
            if line.startswith(("msgid ", "msgstr ", "msgctxt ", "msgid_plural ")):
                current, _, literal = line.partition(" ")
                fields[current] = ast.literal_eval(literal)
            elif line.startswith('"') and current:
                fields[current] += ast.literal_eval(line)
        assert "msgctxt" not in fields and "msgid_plural" not in fields, block
        if "msgid" in fields and fields["msgid"]:
            entries[fields["msgid"]] = (fields.get("msgstr", ""), fuzzy)
    return entries


def shipped(language: str, domain: str, suffix: str = "po") -> Path:
    return APP / "locale" / language / "LC_MESSAGES" / f"{domain}.{suffix}"


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the app after ``makemessages`` for both domains and languages."""
    copy = tmp_path_factory.mktemp("makemessages") / "inbox"
    shutil.copytree(APP, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    languages = [arg for language in LANGUAGES for arg in ("-l", language)]
    for domain in DOMAINS:
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "makemessages", "-d", domain, *languages],
            cwd=copy,
            check=True,
            capture_output=True,
            timeout=120,
        )
    return copy


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_makemessages_finds_exactly_the_shipped_msgids(regenerated, language, domain):
    found = set(po_entries(regenerated / "locale" / language / "LC_MESSAGES" / f"{domain}.po"))
    ships = set(po_entries(shipped(language, domain)))
    assert found, "makemessages found no strings at all"
    assert found - ships == set(), "strings in the code that the catalog leaves out"
    assert ships - found == set(), "strings in the catalog that the code no longer has"


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_shipped_string_is_translated(language, domain):
    entries = po_entries(shipped(language, domain))
    untranslated = [msgid for msgid, (msgstr, fuzzy) in entries.items() if not msgstr or fuzzy]
    assert untranslated == []


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogs_are_current(tmp_path, language, domain):
    """The .mo shipped says what msgfmt makes of the .po (compared as catalogs, not bytes:
    gettext versions lay the file out differently)."""
    fresh = tmp_path / f"{domain}.mo"
    subprocess.run(
        ["msgfmt", "--check", "-o", str(fresh), str(shipped(language, domain))],
        check=True,
        capture_output=True,
    )

    def catalog(path: Path) -> dict[str, str]:
        with path.open("rb") as handle:
            return dict(gettext.GNUTranslations(handle)._catalog)  # type: ignore[attr-defined]

    assert catalog(shipped(language, domain, "mo")) == catalog(fresh)
