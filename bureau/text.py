"""What free text people type may hold. No database.

Names and notes are shown to clerks, printed and sent by SMS: a control character breaks
them, and a bidirectional override (U+202E) makes a name read differently from what is
stored. Both are refused rather than silently dropped, so what is stored is what was typed."""

import unicodedata

from django.utils.translation import gettext as _

# Unicode categories refused in single-line text: controls (Cc: NUL, newline, tab, ...),
# format characters (Cf: bidi overrides and isolates, zero-width joiners, BOM), surrogates
# (Cs: only a broken encoder sends one), private use (Co), unassigned code points (Cn), and
# the line and paragraph separators (Zl U+2028, Zp U+2029), line breaks as much as newline.
REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
# Letters and marks that are drawn as nothing (Unicode's default-ignorable ones outside the
# categories above): the Hangul fillers make a name that looks blank, the combining grapheme
# joiner and the Khmer inherent vowels an invisible difference between two names.
INVISIBLE = {"\u034f", "\u115f", "\u1160", "\u17b4", "\u17b5", "\u3164", "\uffa0"}
# The replacement character: what a page form's bytes that were not UTF-8 (a lone surrogate
# encoded, say) become when Django decodes them. Nobody types it; it stands for what was lost.
REPLACEMENT = "\ufffd"


def has_hidden_characters(value: str) -> bool:
    return any(
        unicodedata.category(char) in REFUSED_CATEGORIES or char in INVISIBLE or char == REPLACEMENT for char in value
    )


def hidden_characters_problem(value: str, *, label: str) -> str | None:
    """The message for a field that holds such characters, else None."""
    if not has_hidden_characters(value):
        return None
    return _("%(field)s contains control or invisible characters; please type it again.") % {"field": label}
