"""Records of the quality package: 好差评 reviews, rectification cases and deadline flags."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from onestop.applications.models import Application, ApplicationStatus, DeadlineInfo

# Cities set 5-15 working days to verify, rectify and answer a bad review (REFERENCE.md); this is
# onestop's working value, kept here and only here.
CASE_DEADLINE_WORKING_DAYS = 10

# A review is possible once the application is finished, whatever the outcome.
COMPLETED_STATUSES = frozenset(
    {ApplicationStatus.APPROVED, ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN}
)


class _Record(BaseModel):
    # Stored items may carry attributes this module does not know (index keys, later additions).
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)


class ReviewLevel(StrEnum):
    """The five 好差评 levels, best first."""

    VERY_SATISFIED = "very_satisfied"
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"
    VERY_DISSATISFIED = "very_dissatisfied"

    @property
    def zh(self) -> str:
        return _LEVEL_NAMES[self][0]

    @property
    def en(self) -> str:
        return _LEVEL_NAMES[self][1]

    @property
    def score(self) -> int:
        """5 (非常满意) … 1 (非常不满意)."""
        return 5 - list(ReviewLevel).index(self)

    @property
    def is_bad(self) -> bool:
        """不满意 and 非常不满意 are bad reviews (差评): each opens a rectification case."""
        return self in (ReviewLevel.DISSATISFIED, ReviewLevel.VERY_DISSATISFIED)


_LEVEL_NAMES: dict[ReviewLevel, tuple[str, str]] = {
    ReviewLevel.VERY_SATISFIED: ("非常满意", "very satisfied"),
    ReviewLevel.SATISFIED: ("满意", "satisfied"),
    ReviewLevel.BASICALLY_SATISFIED: ("基本满意", "basically satisfied"),
    ReviewLevel.DISSATISFIED: ("不满意", "dissatisfied"),
    ReviewLevel.VERY_DISSATISFIED: ("非常不满意", "very dissatisfied"),
}

# The online indicators of the national 好差评 system, each rated 1-5.
INDICATOR_NAMES: dict[str, tuple[str, str]] = {
    "overall_satisfaction": ("总体满意度", "overall satisfaction"),
    "efficiency": ("办事效率", "efficiency"),
    "guidance_accuracy": ("办事指南准确性", "accuracy of guidance"),
    "convenience": ("办事便利度", "convenience"),
    "platform_usability": ("平台易用性", "platform usability"),
}


class Indicators(_Record):
    """The applicant's rating of each online indicator, 1 (worst) to 5 (best)."""

    overall_satisfaction: int = Field(ge=1, le=5)
    efficiency: int = Field(ge=1, le=5)
    guidance_accuracy: int = Field(ge=1, le=5)
    convenience: int = Field(ge=1, le=5)
    platform_usability: int = Field(ge=1, le=5)


class Review(_Record):
    """One applicant's rating of one finished application (PK `APP#<id>`, SK `REVIEW`)."""

    application_id: str
    item_code: str
    level: ReviewLevel
    indicators: Indicators
    comment: str | None = None
    by: str = Field(description="the applicant's subject")
    created_at: datetime
    case_id: str | None = Field(default=None, description="the rectification case a bad review opened")


class CaseStatus(StrEnum):
    """Where a rectification case is: each step moves it one state on, in this order."""

    OPEN = "open"  # waiting to be verified (核实)
    VERIFIED = "verified"  # verified, waiting for rectification (整改)
    RECTIFIED = "rectified"  # rectified, waiting for the answer to the applicant (反馈)
    CLOSED = "closed"  # answered

    @property
    def zh(self) -> str:
        return _CASE_STATUS_NAMES[self][0]

    @property
    def en(self) -> str:
        return _CASE_STATUS_NAMES[self][1]


_CASE_STATUS_NAMES: dict[CaseStatus, tuple[str, str]] = {
    CaseStatus.OPEN: ("待核实", "waiting for verification"),
    CaseStatus.VERIFIED: ("已核实，待整改", "verified, waiting for rectification"),
    CaseStatus.RECTIFIED: ("已整改，待反馈", "rectified, waiting for the answer"),
    CaseStatus.CLOSED: ("已反馈办结", "answered and closed"),
}

UNCLOSED_CASE_STATUSES = (CaseStatus.OPEN, CaseStatus.VERIFIED, CaseStatus.RECTIFIED)


class CaseStep(StrEnum):
    """核实 → 整改 → 反馈."""

    VERIFY = "verify"
    RECTIFY = "rectify"
    RESPOND = "respond"

    @property
    def zh(self) -> str:
        return {"verify": "核实", "rectify": "整改", "respond": "反馈"}[self.value]

    @property
    def en(self) -> str:
        return {"verify": "Verify", "rectify": "Rectify", "respond": "Answer"}[self.value]

    @property
    def source(self) -> CaseStatus:
        return STEP_TRANSITIONS[self][0]

    @property
    def target(self) -> CaseStatus:
        return STEP_TRANSITIONS[self][1]


STEP_TRANSITIONS: dict[CaseStep, tuple[CaseStatus, CaseStatus]] = {
    CaseStep.VERIFY: (CaseStatus.OPEN, CaseStatus.VERIFIED),
    CaseStep.RECTIFY: (CaseStatus.VERIFIED, CaseStatus.RECTIFIED),
    CaseStep.RESPOND: (CaseStatus.RECTIFIED, CaseStatus.CLOSED),
}


class CaseStepRecord(_Record):
    """One step taken on a case, with the reviewer's note."""

    step: CaseStep
    note: str
    by: str
    at: datetime


class RectificationCase(_Record):
    """A bad review followed up: verified, rectified and answered before its deadline (PK `CASE#<id>`)."""

    id: str
    application_id: str
    item_code: str
    review_level: ReviewLevel
    review_comment: str | None = None
    status: CaseStatus
    deadline: DeadlineInfo
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    steps: list[CaseStepRecord] = Field(default_factory=list)
    version: int = 1

    @property
    def next_step(self) -> CaseStep | None:
        return next((s for s, (src, _) in STEP_TRANSITIONS.items() if src == self.status), None)

    def overdue(self, now: datetime) -> bool:
        """Still open after its deadline."""
        return self.status != CaseStatus.CLOSED and now > self.deadline.due

    @property
    def closed_on_time(self) -> bool | None:
        if self.closed_at is None:
            return None
        return self.closed_at <= self.deadline.due

    @property
    def response(self) -> str | None:
        """The answer given to the applicant (the note of the 反馈 step)."""
        return next((s.note for s in self.steps if s.step == CaseStep.RESPOND), None)


class FlagLevel(StrEnum):
    """How close an application is to missing its deadline."""

    AT_RISK = "at_risk"  # at most one working day left
    OVERDUE = "overdue"  # past the due time


class DeadlineKind(StrEnum):
    """Which time limit a flag concerns."""

    ACCEPTANCE = "acceptance"  # accept or ask for correction within the notice period (art. 32)
    DECISION = "decision"  # decide within the promised limit


@dataclass(frozen=True)
class DeadlineFlag:
    """What the sweep left on an application: the level, for which due time, and if it was announced."""

    level: FlagLevel
    due: str  # the due time it was computed for, as in the index sort key (UTC ISO, seconds)
    status: ApplicationStatus
    kind: DeadlineKind
    flagged_at: str
    published: bool = False

    def as_item(self) -> dict[str, object]:
        return {
            "level": self.level.value,
            "due": self.due,
            "status": self.status.value,
            "kind": self.kind.value,
            "flagged_at": self.flagged_at,
            "published": self.published,
        }

    @classmethod
    def from_item(cls, data: object) -> DeadlineFlag | None:
        """The stored flag, or None when there is none or it is not one this version understands."""
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                level=FlagLevel(str(data["level"])),
                due=str(data["due"]),
                status=ApplicationStatus(str(data["status"])),
                kind=DeadlineKind(str(data.get("kind", DeadlineKind.DECISION.value))),
                flagged_at=str(data.get("flagged_at", "")),
                published=bool(data.get("published", False)),
            )
        except (KeyError, ValueError):
            return None


@dataclass(frozen=True)
class SweepCandidate:
    """An application the sweep looks at, with its index sort key (the due time it is filed under)."""

    application: Application
    sort_key: str
    flag: DeadlineFlag | None
