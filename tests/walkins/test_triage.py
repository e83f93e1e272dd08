"""The self-service machine rule of walk-in triage (SPEC 2): tables and the laws it keeps."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from walkins import triage
from walkins.triage import Situation

HK, ENDORSE = "hk_macao", "endorsement"
CHIP, BOOKLET = "chip_card", "booklet"
IN, OUT = "in_province", "out_of_province"


def verdict(document: str = HK, business: str = ENDORSE, **situation: str) -> tuple[bool, str]:
    found = triage.self_service_verdict(Situation(document=document, business=business, **situation))
    return found.machine, found.reason


@pytest.mark.parametrize(
    ("situation", "expected", "why"),
    [
        ({"permit": CHIP, "residency": IN, "endorsement": "individual"}, (True, "machine"), "the usual case"),
        ({"permit": CHIP, "residency": IN, "endorsement": "group_tour"}, (True, "machine"), "group tour"),
        ({"permit": CHIP, "residency": IN, "endorsement": "relatives"}, (True, "machine"), "visiting relatives"),
        ({"permit": CHIP, "residency": IN, "endorsement": "business"}, (False, "documents"), "business: documents"),
        ({"permit": CHIP, "residency": IN, "endorsement": "other"}, (False, "documents"), "study, work: documents"),
        (
            {"permit": CHIP, "residency": OUT, "endorsement": "group_tour"},
            (True, "machine_group_tour"),
            "out-of-province: group tour only (SPEC 2)",
        ),
        ({"permit": CHIP, "residency": OUT, "endorsement": "individual"}, (False, "out_of_province"), "not a group"),
        ({"permit": CHIP, "residency": OUT, "endorsement": "relatives"}, (False, "out_of_province"), "not a group"),
        ({"permit": CHIP, "residency": OUT, "endorsement": "business"}, (False, "out_of_province"), "not a group"),
        ({"permit": BOOKLET, "residency": IN, "endorsement": "individual"}, (False, "booklet"), "old booklet"),
        ({"permit": BOOKLET, "residency": OUT, "endorsement": "group_tour"}, (False, "booklet"), "booklet first"),
        ({}, (False, "not_asked"), "late arrival or counter anyway: nothing asked"),
        ({"permit": CHIP, "residency": IN}, (False, "not_asked"), "endorsement not given"),
        ({"permit": "paper", "residency": IN, "endorsement": "individual"}, (False, "not_asked"), "unknown permit"),
        ({"permit": CHIP, "residency": "mars", "endorsement": "individual"}, (False, "not_asked"), "unknown residency"),
        ({"permit": CHIP, "residency": IN, "endorsement": "visa"}, (False, "not_asked"), "unknown endorsement"),
    ],
)
def test_hong_kong_macao_endorsement(situation: dict[str, str], expected: tuple[bool, str], why: str) -> None:
    assert verdict(**situation) == expected, why


@pytest.mark.parametrize(
    ("document", "business", "reason"),
    [
        (HK, "first", "not_endorsement"),
        (HK, "renewal", "not_endorsement"),
        (HK, "reissue", "not_endorsement"),
        ("passport", "first", "not_hk_macao"),
        ("passport", "renewal", "not_hk_macao"),
        ("taiwan", ENDORSE, "not_hk_macao"),
    ],
)
def test_everything_else_goes_to_a_counter(document: str, business: str, reason: str) -> None:
    best_case = {"permit": CHIP, "residency": IN, "endorsement": "individual"}
    assert verdict(document, business, **best_case) == (False, reason)


def test_only_the_hong_kong_macao_endorsement_asks_the_situation() -> None:
    asked = [
        (document, business)
        for document in ("passport", HK, "taiwan")
        for business in ("first", "renewal", "reissue", ENDORSE)
        if triage.asks_situation(document, business)
    ]
    assert asked == [(HK, ENDORSE)]


def test_every_reason_has_a_message() -> None:
    reasons = {verdict(**s)[1] for s in ({"permit": CHIP, "residency": OUT, "endorsement": "individual"}, {})}
    assert reasons <= set(triage.REASONS)
    assert all(str(message).strip() for message in triage.REASONS.values())


values = st.sampled_from
situations = st.builds(
    Situation,
    document=values(["passport", HK, "taiwan", ""]),
    business=values(["first", "renewal", "reissue", ENDORSE, ""]),
    permit=values([CHIP, BOOKLET, "", "x"]),
    residency=values([IN, OUT, "", "x"]),
    endorsement=values([*dict(triage.ENDORSEMENTS), "", "x"]),
)


@given(situations)
def test_a_machine_only_ever_gets_a_chip_card_hong_kong_macao_endorsement(situation: Situation) -> None:
    found = triage.self_service_verdict(situation)
    assert found.reason in triage.REASONS
    if found.machine:
        assert (situation.document, situation.business, situation.permit) == (HK, ENDORSE, CHIP)
        assert situation.endorsement in triage.MACHINE_ENDORSEMENTS
        if situation.residency == OUT:
            assert situation.endorsement == "group_tour"
        else:
            assert situation.residency == IN


@given(situations)
def test_an_out_of_province_resident_gets_no_more_than_an_in_province_one(situation: Situation) -> None:
    """Moving the household registration out of the province never opens the machines."""
    outside = triage.self_service_verdict(Situation(**{**situation.__dict__, "residency": OUT}))
    inside = triage.self_service_verdict(Situation(**{**situation.__dict__, "residency": IN}))
    assert not outside.machine or inside.machine
