"""The calling rule (SPEC 4), as pure functions over plain data. No database.

A waiting ticket's score is its channel's weight plus the minutes it has waited times the
ageing rate, plus a boost for an appointment whose slot time has come. A ticket that has
waited past the office's max wait is called before every ordinary one. The enterprise
window takes enterprise tickets first. Ties go to the ticket issued first.

Every waiting ticket gains score at the same rate, so their order changes only when one
crosses the max wait or reaches its slot time. The score is therefore stored as a key that
does not move (`base_key`: the score at a fixed origin of time), and the database orders by
it; only those two small tiers need looking at apart (walkins.selectors).
"""

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# Minutes are counted from here: any fixed moment does, and this one keeps keys small.
ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)

APPOINTMENT = "appointment"
ENTERPRISE = "enterprise"


@dataclass(frozen=True)
class CallingRule:
    """An office's figures (walkins.models.QueueSettings)."""

    weights: Mapping[str, float]
    ageing_per_minute: float
    appointment_boost: float
    max_wait: timedelta


@dataclass(frozen=True)
class Waiting:
    """What the rule needs to know of a waiting ticket."""

    id: int
    channel: str
    service_id: int
    issued_at: datetime
    due_at: datetime | None = None  # an appointment's slot time


def minutes_since_origin(moment: datetime) -> float:
    return (moment - ORIGIN).total_seconds() / 60


def base_key(channel: str, issued_at: datetime, rule: CallingRule) -> float:
    """The score a ticket would have at ORIGIN, without the appointment boost: its score at
    any moment is this plus ageing x minutes since ORIGIN, the same addend for every ticket."""
    return rule.weights[channel] - rule.ageing_per_minute * minutes_since_origin(issued_at)


def is_due(ticket: Waiting, now: datetime) -> bool:
    return ticket.due_at is not None and now >= ticket.due_at


def is_overdue(ticket: Waiting, now: datetime, rule: CallingRule) -> bool:
    return now - ticket.issued_at >= rule.max_wait


def score(ticket: Waiting, now: datetime, rule: CallingRule) -> float:
    waited = (now - ticket.issued_at).total_seconds() / 60
    boost = rule.appointment_boost if is_due(ticket, now) else 0.0
    return rule.weights[ticket.channel] + rule.ageing_per_minute * waited + boost


def call_order(ticket: Waiting, now: datetime, rule: CallingRule, *, enterprise_window: bool) -> tuple[object, ...]:
    """Sort key, largest first: past the max wait, then (at the enterprise window) the
    enterprise channel, then the score, then the earlier issue and the lower id."""
    return (
        is_overdue(ticket, now, rule),
        enterprise_window and ticket.channel == ENTERPRISE,
        round(score(ticket, now, rule), 6),
        -ticket.issued_at.timestamp(),
        -ticket.id,
    )


def next_ticket(
    waiting: Iterable[Waiting],
    now: datetime,
    rule: CallingRule,
    *,
    services: Collection[int],
    enterprise_window: bool = False,
) -> Waiting | None:
    """The ticket a counter serving `services` calls next, or None when nobody waits for it."""
    eligible = [ticket for ticket in waiting if ticket.service_id in services]
    return max(
        eligible, key=lambda ticket: call_order(ticket, now, rule, enterprise_window=enterprise_window), default=None
    )
