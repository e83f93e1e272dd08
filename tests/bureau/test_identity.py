from datetime import date

import pytest
from django.utils import translation

from bureau.identity import IdNumberError, mask_id_number, mask_name, normalize_id_number, residency_of

TODAY = date(2026, 11, 27)


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("33010619900101123X", "33010619900101123X"),
        ("33010619900101123x", "33010619900101123X"),  # lower-case x accepted and normalised
        (" 3301 0619 9001 0112 3X ", "33010619900101123X"),
        ("11010519491231002X", "11010519491231002X"),
        ("440300198511105416", "440300198511105416"),
        ("330102200002290015", "330102200002290015"),  # born on a leap day
        ("990106199001011232", "990106199001011232"),  # unknown area code: not a reason to refuse
        ("３３０１０６１９９００１０１１２３Ｘ", "33010619900101123X"),  # full-width, as Chinese keyboards type
    ],
)
def test_normalize_id_number_accepts_valid_numbers(raw: str, normalized: str) -> None:
    assert normalize_id_number(raw, today=TODAY) == normalized


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "required"),
        ("   ", "required"),
        ("330106900101123", "legacy"),  # first-generation 15-digit card
        ("3301061990010112", "length"),
        ("33010619900101123X1", "length"),
        ("33010619900101A23X", "format"),
        ("33010619900101123Y", "format"),
        ("身份证号码身份证号码身份证号码身份证号", "length"),
        ("3301061990010112\u0663X", "format"),  # an Arabic-Indic digit is not a digit here
        ("330106199013011236", "birth_date"),  # month 13
        ("330102200102290013", "birth_date"),  # Feb 29 of a common year
        ("330106203001011231", "birth_date"),  # born in the future
        ("330106199001011234", "checksum"),
        ("110105194912310021", "checksum"),
    ],
)
def test_normalize_id_number_refuses_each_fault_with_its_code(raw: str, code: str) -> None:
    with pytest.raises(IdNumberError) as caught:
        normalize_id_number(raw, today=TODAY)
    assert caught.value.code == code
    assert caught.value.message


def test_legacy_number_message_says_it_is_no_longer_valid_in_both_languages() -> None:
    with translation.override("en"), pytest.raises(IdNumberError, match="no longer valid"):
        normalize_id_number("330106900101123", today=TODAY)
    with translation.override("zh-hans"), pytest.raises(IdNumberError) as caught:
        normalize_id_number("330106900101123", today=TODAY)
    assert "18" in caught.value.message
    assert "no longer" not in caught.value.message


@pytest.mark.parametrize(
    ("number", "residency"),
    [("33010619900101123X", "in_province"), ("11010519491231002X", "out_of_province")],
)
def test_residency_of_follows_the_province_code(number: str, residency: str) -> None:
    assert residency_of(number, home_province="33") == residency


def test_mask_id_number_keeps_first_three_and_last_four() -> None:
    assert mask_id_number("33010619900101123X") == "330***********123X"


@pytest.mark.parametrize(
    ("name", "masked"), [("王晓晶", "王*晶"), ("欧阳小明", "欧**明"), ("李四", "李*"), ("王", "王")]
)
def test_mask_name_hides_the_middle(name: str, masked: str) -> None:
    assert mask_name(name) == masked
