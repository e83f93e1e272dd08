"""Resident identity numbers (GB 11643) and mobile numbers: validation, residency and
masking. No database.

The check character is python-stdnum's ISO 7064 MOD 11-2. Area codes are not looked up:
they are renamed and created over time, and an unknown one is no reason to turn a real
person away.
"""

import re
import unicodedata
from datetime import date

from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric
from stdnum.exceptions import InvalidComponent
from stdnum.util import isdigits


class IdNumberError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def compact_id_number(raw: str) -> str:
    """Spaces (also inside, as people type them in groups) dropped, a lower-case x made upper-case."""
    # NFKC turns full-width digits and Ｘ, which Chinese keyboards type, into ASCII.
    return ric.compact("".join(unicodedata.normalize("NFKC", raw or "").split()))


def normalize_id_number(raw: str, *, today: date) -> str:
    """The canonical 18-character form of a valid number, or IdNumberError saying what is wrong."""
    number = compact_id_number(raw)
    if not number:
        raise IdNumberError("required", str(_("Enter the ID number.")))
    if len(number) == 15 and isdigits(number):
        raise IdNumberError(
            "legacy",
            str(
                _(
                    "15-digit first-generation ID cards are no longer valid identity documents. "
                    "Use your 18-digit resident ID card."
                )
            ),
        )
    if len(number) != 18:
        raise IdNumberError(
            "length", str(_("An ID number has 18 characters; this one has %(n)d.") % {"n": len(number)})
        )
    # isdigits is ASCII-only: str.isdigit() would let other scripts' digits through.
    if not isdigits(number[:17]) or not (isdigits(number[17]) or number[17] == "X"):
        raise IdNumberError("format", str(_("An ID number is 17 digits followed by a digit or the letter X.")))
    try:
        born = ric.get_birth_date(number)
    except InvalidComponent:
        born = None
    if born is None or born > today or born.year < 1900:
        raise IdNumberError(
            "birth_date", str(_("The birth date in this ID number (digits 7 to 14) is not a possible date of birth."))
        )
    if ric.calc_check_digit(number) != number[17]:
        raise IdNumberError(
            "checksum", str(_("The last character of this ID number does not match; please check for a typo."))
        )
    return number


def residency_of(number: str, *, home_province: str) -> str:
    """`in_province` when the number's address code is in the home province."""
    return "in_province" if number.startswith(home_province) else "out_of_province"


def mask_id_number(number: str) -> str:
    """First 3 and last 4 characters; the rest hidden."""
    if len(number) <= 7:
        return "*" * len(number)
    return f"{number[:3]}{'*' * (len(number) - 7)}{number[-4:]}"


def mask_name(name: str) -> str:
    """王*晶 for public screens: first and last character kept."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return f"{name[0]}*"
    return f"{name[0]}{'*' * (len(name) - 2)}{name[-1]}"


MOBILE = re.compile(r"1[3-9][0-9]{9}")


def normalize_mobile(raw: str) -> str | None:
    """An 11-digit mainland mobile number, spaces, dashes and a +86 prefix dropped."""
    digits = re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", raw or ""))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits if MOBILE.fullmatch(digits) else None


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else "*" * len(phone)
