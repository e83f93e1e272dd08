"""The zh-Hans catalogue is complete and its compiled .mo is the one Django serves.

zh-Hans is the default language, so an empty or fuzzy msgstr shows English to the public,
and a .mo compiled from an older .po silently serves stale text. The .po is read with the
small parser below (multi-line strings, msgctxt, plural forms); the .mo is read both as
raw tables, to compare its keys with the .po exactly, and through gettext.GNUTranslations
and Django, to compare every translation. The comparison is by content, not by file
times: a fresh checkout gives both files arbitrary mtimes.
"""

import gettext
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import translation

LC_MESSAGES = Path(__file__).resolve().parent.parent / "bureau" / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_PATH = LC_MESSAGES / "django.po"
MO_PATH = LC_MESSAGES / "django.mo"

CONTEXT_SEPARATOR = "\x04"
PLURAL_SEPARATOR = "\x00"
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
# %(name)s, %d, %.2f, %%: the python-format placeholders msgfmt --check compares.
PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?(?P<conv>[diouxXeEfFgGcrsa%])")


@dataclass
class Entry:
    line: int
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    @property
    def mo_key(self) -> str:
        """The key msgfmt writes: context, EOT, msgid, and NUL plus msgid_plural for plurals."""
        key = self.msgid if self.msgid_plural is None else f"{self.msgid}{PLURAL_SEPARATOR}{self.msgid_plural}"
        return key if self.msgctxt is None else f"{self.msgctxt}{CONTEXT_SEPARATOR}{key}"

    def __str__(self) -> str:
        context = f" (msgctxt {self.msgctxt!r})" if self.msgctxt is not None else ""
        return f"django.po:{self.line}: {self.msgid!r}{context}"


def _unquote(token: str, line: int) -> str:
    if len(token) < 2 or not token.startswith('"') or not token.endswith('"'):
        raise ValueError(f"django.po:{line}: expected a quoted string, got {token!r}")

    def unescape(match: re.Match[str]) -> str:
        if match.group(1) not in ESCAPES:
            raise ValueError(f"django.po:{line}: unknown escape \\{match.group(1)}")
        return ESCAPES[match.group(1)]

    return re.sub(r"\\(.)", unescape, token[1:-1])


def parse_po(text: str) -> list[Entry]:
    """Entries in file order, the header first; obsolete (#~) entries are left out."""
    entries: list[Entry] = []
    current: Entry | None = None
    # The field continuation lines ("...") append to: ("msgid"|"msgctxt"|"msgid_plural"|"msgstr", index).
    target: tuple[str, int] | None = None
    pending_flags: set[str] = set()
    started_msgstr = False

    def finish() -> None:
        nonlocal current, target, started_msgstr
        if current is not None:
            entries.append(current)
        current, target, started_msgstr = None, None, False

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            # Flags belong to the entry in the same block; an obsolete entry takes its own.
            pending_flags = set()
            if current is not None and started_msgstr:
                finish()
            continue
        if line.startswith("#"):
            if started_msgstr:
                finish()
            if line.startswith("#,"):
                pending_flags |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            if current is None or target is None:
                raise ValueError(f"django.po:{number}: continuation line outside an entry")
            value = _unquote(line, number)
            name, index = target
            if name == "msgstr":
                current.msgstr[index] += value
            else:
                setattr(current, name, getattr(current, name) + value)
            continue
        if keyword in ("msgctxt", "msgid") and (current is None or started_msgstr or keyword == "msgctxt"):
            finish()
            current = Entry(line=number, flags=pending_flags)
            pending_flags = set()
        if current is None:
            raise ValueError(f"django.po:{number}: {keyword} outside an entry")
        match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
        if keyword in ("msgctxt", "msgid", "msgid_plural"):
            setattr(current, keyword, _unquote(rest.strip(), number))
            target = (keyword, 0)
        elif keyword == "msgstr" or match:
            index = int(match.group(1)) if match else 0
            current.msgstr[index] = _unquote(rest.strip(), number)
            target = ("msgstr", index)
            started_msgstr = True
        else:
            raise ValueError(f"django.po:{number}: unknown keyword {keyword!r}")
    finish()
    return entries


def read_mo_keys(data: bytes) -> list[str]:
    """The msgids of a compiled catalogue, straight from its table of original strings."""
    (magic,) = struct.unpack("<I", data[:4])
    order = "<" if magic == gettext.GNUTranslations.LE_MAGIC else ">"
    _revision, count, originals, _translations = struct.unpack(f"{order}4I", data[4:20])
    keys = []
    for i in range(count):
        length, offset = struct.unpack(f"{order}2I", data[originals + 8 * i : originals + 8 * i + 8])
        keys.append(data[offset : offset + length].decode("utf-8"))
    return keys


def placeholders(text: str) -> list[str]:
    found = [m.group("name") or m.group("conv") for m in PLACEHOLDER.finditer(text)]
    return sorted(p for p in found if p != "%")


@pytest.fixture(scope="module")
def po_entries() -> list[Entry]:
    return parse_po(PO_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def messages(po_entries: list[Entry]) -> list[Entry]:
    assert po_entries, f"{PO_PATH} has no entries"
    assert po_entries[0].is_header, f"{PO_PATH} does not start with a header entry"
    return po_entries[1:]


@pytest.fixture(scope="module")
def mo_catalogue() -> gettext.GNUTranslations:
    assert MO_PATH.exists(), f"{MO_PATH} is missing: run manage.py compilemessages --locale zh_Hans"
    with MO_PATH.open("rb") as fp:
        return gettext.GNUTranslations(fp)


def _expected_translations(entry: Entry) -> list[tuple[int | None, str]]:
    """(n, text): n is None for a singular entry; zh-Hans has one plural form, msgstr[0]."""
    if entry.msgid_plural is None:
        return [(None, entry.msgstr[0])]
    return [(n, entry.msgstr[0]) for n in (0, 1, 2, 5, 11)]


def test_po_parser_reads_context_plurals_and_multiline() -> None:
    sample = (
        '# header comment\nmsgid ""\nmsgstr ""\n"Language: zh_Hans\\n"\n\n'
        '#: a.py:1\n#, fuzzy, python-format\nmsgctxt "unit"\nmsgid ""\n"calendar "\n"days"\nmsgstr "自然日"\n\n'
        'msgid "%(n)d day"\nmsgid_plural "%(n)d days"\nmsgstr[0] "%(n)d "\n"天"\n\n'
        '#~ msgid "gone"\n#~ msgstr "已删除"\n\n'
        'msgid "say \\"hi\\"\\n"\nmsgstr ""\n'
    )
    header, context, plural, escaped = parse_po(sample)
    assert header.is_header
    assert header.msgstr == {0: "Language: zh_Hans\n"}
    assert (context.msgctxt, context.msgid, context.msgstr) == ("unit", "calendar days", {0: "自然日"})
    assert context.flags == {"fuzzy", "python-format"}
    assert context.mo_key == "unit\x04calendar days"
    assert (plural.msgid_plural, plural.msgstr, plural.flags) == ("%(n)d days", {0: "%(n)d 天"}, set())
    assert plural.mo_key == "%(n)d day\x00%(n)d days"
    assert (escaped.msgid, escaped.msgstr) == ('say "hi"\n', {0: ""})


def test_po_header_declares_zh_hans_utf8_one_plural_form(po_entries: list[Entry]) -> None:
    header = po_entries[0]
    assert header.is_header
    fields = {}
    for line in header.msgstr[0].splitlines():
        name, _, value = line.partition(": ")
        fields[name] = value
    assert fields.get("Language") == "zh_Hans"
    assert fields.get("Content-Type") == "text/plain; charset=UTF-8"
    assert fields.get("Plural-Forms") == "nplurals=1; plural=0;"
    assert "fuzzy" not in header.flags, "the header is marked fuzzy"


def test_po_entries_have_no_empty_msgstr(messages: list[Entry]) -> None:
    untranslated = [str(e) for e in messages if not e.msgstr or any(not text for text in e.msgstr.values())]
    assert not untranslated, "untranslated entries:\n" + "\n".join(untranslated)


def test_po_plural_entries_have_exactly_one_form(messages: list[Entry]) -> None:
    wrong = [f"{e}: forms {sorted(e.msgstr)}" for e in messages if e.msgid_plural is not None and set(e.msgstr) != {0}]
    assert not wrong, "zh-Hans plural entries need msgstr[0] only:\n" + "\n".join(wrong)


def test_po_entries_are_not_fuzzy(po_entries: list[Entry]) -> None:
    fuzzy = [str(e) for e in po_entries if "fuzzy" in e.flags]
    assert not fuzzy, "fuzzy entries (check the translation, then drop the flag):\n" + "\n".join(fuzzy)


def test_po_entries_are_unique(messages: list[Entry]) -> None:
    seen: dict[str, Entry] = {}
    duplicates = []
    for entry in messages:
        if entry.mo_key in seen:
            duplicates.append(f"{entry} repeats {seen[entry.mo_key]}")
        seen.setdefault(entry.mo_key, entry)
    assert not duplicates, "\n".join(duplicates)


def test_po_placeholders_match_msgid(messages: list[Entry]) -> None:
    wrong = []
    for entry in messages:
        if "python-format" not in entry.flags:
            continue
        sources = {entry.msgid} if entry.msgid_plural is None else {entry.msgid, entry.msgid_plural}
        wanted = placeholders(entry.msgid_plural or entry.msgid)
        for text in entry.msgstr.values():
            if placeholders(text) != wanted:
                wrong.append(f"{entry}: {sorted(sources)} uses {wanted}, {text!r} uses {placeholders(text)}")
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


def test_mo_keys_match_po_entries(messages: list[Entry]) -> None:
    assert MO_PATH.exists(), f"{MO_PATH} is missing: run manage.py compilemessages --locale zh_Hans"
    in_mo = set(read_mo_keys(MO_PATH.read_bytes())) - {""}
    in_po = {e.mo_key for e in messages}
    missing, stale = sorted(in_po - in_mo), sorted(in_mo - in_po)
    assert not missing and not stale, (
        f"django.mo is out of date with django.po (run manage.py compilemessages --locale zh_Hans): "
        f"missing from .mo {missing}, not in .po {stale}"
    )


def _translate(catalogue: Any, entry: Entry, n: int | None) -> str:
    """What `catalogue` (a GNUTranslations or django.utils.translation) gives for an entry."""
    if n is None:
        if entry.msgctxt is None:
            return str(catalogue.gettext(entry.msgid))
        return str(catalogue.pgettext(entry.msgctxt, entry.msgid))
    assert entry.msgid_plural is not None
    if entry.msgctxt is None:
        return str(catalogue.ngettext(entry.msgid, entry.msgid_plural, n))
    return str(catalogue.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, n))


def _disagreements(catalogue: Any, messages: list[Entry]) -> list[str]:
    return [
        f"{entry}{'' if n is None else f' n={n}'}: gives {got!r}, .po says {expected!r}"
        for entry in messages
        for n, expected in _expected_translations(entry)
        if (got := _translate(catalogue, entry, n)) != expected
    ]


def test_mo_translates_every_po_entry(messages: list[Entry], mo_catalogue: gettext.GNUTranslations) -> None:
    assert mo_catalogue.info().get("language") == "zh_Hans"
    assert mo_catalogue.info().get("plural-forms") == "nplurals=1; plural=0;"
    wrong = _disagreements(mo_catalogue, messages)
    assert not wrong, "django.mo disagrees with django.po (recompile):\n" + "\n".join(wrong)


def test_django_translates_every_po_entry_in_zh_hans(messages: list[Entry]) -> None:
    assert LC_MESSAGES.parent.parent in {Path(p).resolve() for p in settings.LOCALE_PATHS}
    with translation.override("zh-hans"):
        wrong = _disagreements(translation, messages)
    assert not wrong, "Django does not serve the zh-Hans catalogue:\n" + "\n".join(wrong)


def _django_catalogues() -> list[gettext.GNUTranslations]:
    """Django's own zh-Hans catalogues: the core's and every contrib app's (the admin's...)."""
    import django

    root = Path(django.__file__).parent
    catalogues = []
    for mo in sorted(root.glob("**/locale/zh_Hans/LC_MESSAGES/django.mo")):
        with mo.open("rb") as fp:
            catalogues.append(gettext.GNUTranslations(fp))
    return catalogues


def test_our_msgids_do_not_change_django_s_own_translations(messages: list[Entry]) -> None:
    """Ours come first, so a short msgid such as "Change" or "History" that Django's admin also
    uses would change the admin everywhere (it did: its "Change" links read 改约通知). Such
    msgids need a context (pgettext, {% translate ... context ... %})."""
    catalogues = _django_catalogues()
    assert len(catalogues) > 5
    clashes = []
    for entry in messages:
        ours = entry.msgstr[0]
        key = entry.mo_key if entry.msgid_plural is None else (entry.mo_key.split("\x00")[0], 0)
        for catalogue in catalogues:
            theirs = catalogue._catalog.get(key)  # type: ignore[attr-defined]
            if theirs is not None and theirs != ours:
                clashes.append(f"{entry}: ours {ours!r}, Django's {theirs!r}")
    assert not clashes, "give these a context:\n" + "\n".join(clashes)


def test_every_model_and_field_of_ours_has_a_chinese_label() -> None:
    """The admin shows them as column heads, filters and form labels: a field declared
    without a verbose_name showed "OFFICE" and "以 office" on the Chinese screens."""
    import re

    from django.apps import apps

    cjk = re.compile(r"[\u4e00-\u9fff]")
    missing = []
    with translation.override("zh-hans"):
        for app in ("bureau", "appointments", "walkins", "priority"):
            for model in apps.get_app_config(app).get_models():
                labels = {"": model._meta.verbose_name, "(plural)": model._meta.verbose_name_plural}
                labels |= {f.name: f.verbose_name for f in model._meta.concrete_fields if f.name != "id"}
                missing += [f"{model.__name__}.{name}" for name, label in labels.items() if not cjk.search(str(label))]
    assert not missing, "label without a translation: " + ", ".join(missing)
