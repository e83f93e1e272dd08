"""The grounds of an emergency case (SPEC 5) and the written evidence each one needs; the
enterprise window's evidence. Plain data: the application form, the API and the clerk's
check all read it from here."""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Evidence:
    code: str
    name: Promise


@dataclass(frozen=True)
class Ground:
    code: str
    name: Promise
    evidence: tuple[Evidence, ...]
    # Grounds the rules do not list need a supervisor's approval after the clerk's.
    needs_supervisor: bool = False


KINSHIP = Evidence("kinship_proof", _("Proof of kinship (household register or kinship certificate)"))
INVITATION_LETTER = Evidence("invitation_letter", _("Invitation letter from the foreign party"))

GROUNDS: tuple[Ground, ...] = (
    Ground(
        "funeral_wedding",
        _("Funeral or wedding abroad"),
        (Evidence("event_notice", _("Death notice or wedding invitation")), KINSHIP),
    ),
    Ground(
        "critical_illness",
        _("Visiting a critically ill relative abroad"),
        (Evidence("hospital_certificate", _("Hospital certificate of critical illness")), KINSHIP),
    ),
    Ground(
        "study_start",
        _("Study start or registration date close"),
        (Evidence("admission_notice", _("Admission notice with the start or registration date")),),
    ),
    Ground(
        "visa_expiry",
        _("Destination visa or entry permit about to expire"),
        (Evidence("visa", _("Visa or entry permit")),),
    ),
    Ground(
        "other",
        _("Other urgent matter recognised by the bureau"),
        (Evidence("supporting_document", _("Document showing the urgency")),),
        needs_supervisor=True,
    ),
)

BY_CODE = {ground.code: ground for ground in GROUNDS}
CHOICES = [(ground.code, ground.name) for ground in GROUNDS]
ENTERPRISE_EVIDENCE = (INVITATION_LETTER,)
# Every evidence code, for the file fields a form or the API may carry.
EVIDENCE_CODES = sorted({item.code for ground in GROUNDS for item in ground.evidence} | {INVITATION_LETTER.code})


def evidence_names() -> dict[str, Promise]:
    return {item.code: item.name for ground in GROUNDS for item in (*ground.evidence, INVITATION_LETTER)}
