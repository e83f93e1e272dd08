"""Walk-in triage (SPEC 2): may an applicant use the self-service endorsement machines
instead of waiting for a counter? A pure rule over what the clerk picks; no database.

The rule (where the spec is silent, chosen here):
- Only an endorsement of the Exit-Entry Permit for Hong Kong and Macao is done at a machine;
  every other document and business type (first application, renewal, reissue) is a counter's.
- Only on a chip-card permit; the old booklet permit is endorsed at a counter.
- In-province residents: individual travel, group tour and visiting relatives. Business and
  other endorsements (study, work, residence) need documents checked at a counter.
- Out-of-province residents: group-tour endorsements only (SPEC 2).
- The verdict is advice: a clerk may still give a counter ticket (a machine out of order, an
  applicant who needs help), and the page offers it in one click.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# Service.Document and Service.Business values (bureau.models); plain strings, so the rule
# needs no model.
HK_MACAO = "hk_macao"
ENDORSEMENT = "endorsement"

CHIP_CARD = "chip_card"
BOOKLET = "booklet"
PERMITS = (
    (CHIP_CARD, pgettext_lazy("permit", "Chip card")),
    (BOOKLET, pgettext_lazy("permit", "Old booklet")),
)

IN_PROVINCE = "in_province"  # bureau.models.Residency values
OUT_OF_PROVINCE = "out_of_province"
RESIDENCIES = (
    (IN_PROVINCE, pgettext_lazy("residency", "In-province resident")),
    (OUT_OF_PROVINCE, pgettext_lazy("residency", "Out-of-province resident")),
)

INDIVIDUAL = "individual"
GROUP_TOUR = "group_tour"
RELATIVES = "relatives"
BUSINESS = "business"
OTHER = "other"
ENDORSEMENTS = (
    (INDIVIDUAL, pgettext_lazy("endorsement", "Individual travel")),
    (GROUP_TOUR, pgettext_lazy("endorsement", "Group tour")),
    (RELATIVES, pgettext_lazy("endorsement", "Visiting relatives")),
    (BUSINESS, pgettext_lazy("endorsement", "Business")),
    (OTHER, _("Other (study, work, residence)")),
)

# What an in-province resident may renew at a machine; out-of-province residents only these.
MACHINE_ENDORSEMENTS = frozenset({INDIVIDUAL, GROUP_TOUR, RELATIVES})
OUT_OF_PROVINCE_MACHINE_ENDORSEMENTS = frozenset({GROUP_TOUR})


@dataclass(frozen=True)
class Situation:
    """The chosen service's document and business type, and what the clerk picked of the
    applicant's situation ("" when it was not asked)."""

    document: str
    business: str
    permit: str = ""
    residency: str = ""
    endorsement: str = ""


@dataclass(frozen=True)
class Verdict:
    machine: bool  # True: the self-service endorsement machines; False: a counter ticket
    reason: str  # a key of REASONS

    @property
    def message(self) -> str:
        return str(REASONS[self.reason])


REASONS: dict[str, Promise] = {
    "machine": _(
        "Endorsement only, on a chip-card permit: the self-service endorsement machines do it, no ticket needed."
    ),
    "machine_group_tour": _(
        "Out-of-province resident, group-tour endorsement on a chip-card permit: the self-service machines do it."
    ),
    "not_endorsement": _("Not an endorsement only: a counter handles it."),
    "not_hk_macao": _("Only Hong Kong and Macao endorsements are done at the self-service machines."),
    "booklet": _("An old booklet permit is endorsed at a counter."),
    "out_of_province": _(
        "Out-of-province residents can use the self-service machines for group-tour endorsements only."
    ),
    "documents": _("This endorsement needs documents checked at a counter."),
    "not_asked": _("The permit and endorsement were not given: a counter handles it."),
}


def asks_situation(document: str, business: str) -> bool:
    """Whether the permit, residency and endorsement matter: only for the one service a
    machine may do."""
    return document == HK_MACAO and business == ENDORSEMENT


def self_service_verdict(situation: Situation) -> Verdict:
    """Machine or counter, with the reason."""
    if situation.document != HK_MACAO:
        return Verdict(machine=False, reason="not_hk_macao")
    if situation.business != ENDORSEMENT:
        return Verdict(machine=False, reason="not_endorsement")
    known = (
        situation.permit in dict(PERMITS)
        and situation.residency in dict(RESIDENCIES)
        and situation.endorsement in dict(ENDORSEMENTS)
    )
    if not known:
        return Verdict(machine=False, reason="not_asked")
    if situation.permit == BOOKLET:
        return Verdict(machine=False, reason="booklet")
    if situation.residency == OUT_OF_PROVINCE:
        if situation.endorsement in OUT_OF_PROVINCE_MACHINE_ENDORSEMENTS:
            return Verdict(machine=True, reason="machine_group_tour")
        return Verdict(machine=False, reason="out_of_province")
    if situation.endorsement in MACHINE_ENDORSEMENTS:
        return Verdict(machine=True, reason="machine")
    return Verdict(machine=False, reason="documents")
