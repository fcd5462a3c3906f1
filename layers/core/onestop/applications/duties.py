"""Separation of duties: who may decide on an application and change its licence.

No one decides on (accept, correction, approve, reject), or changes the licence of, an application
they opened or whose party they are bound to: an account in both the applicant and reviewer groups
would otherwise approve itself. Lifecycle changes of a licence (suspend, reinstate, revoke, cancel,
withdraw, renew, change) are the admin group's, as template.yaml describes the groups ("Bureau
administrators (licence lifecycle, KPIs)"); reviewers decide on applications. Each check returns the
principal acting in the role of the act, which is what the audit records.
"""

from __future__ import annotations

from onestop.errors import Forbidden
from onestop.licences.models import LicenceRecord

from .deps import ApplicationDeps
from .identity import Principal, Role
from .models import Application


def require_may_decide(principal: Principal, application: Application) -> Principal:
    """The reviewer acting on `application`, unless it is their own or their party's (403)."""
    reviewer = principal.require_reviewer()
    _require_disinterested(
        reviewer,
        opened=application.owner_sub == principal.sub,
        bound=principal.acts_for(application.applicant.kind, application.applicant.code),
        what_zh="审批该申请",
        what_en="decide on this application",
    )
    return reviewer.acting_as(Role.REVIEWER)


def require_may_change_licence(
    deps: ApplicationDeps, principal: Principal, record: LicenceRecord
) -> Principal:
    """The admin acting on the licence `record`, unless its application is their own or they are
    bound to its holder (403)."""
    admin = principal.require_admin()
    origin = deps.repository.get(record.application_id)
    meta = record.metadata
    _require_disinterested(
        admin,
        opened=origin is not None and origin.owner_sub == principal.sub,
        bound=principal.acts_for(meta.holder_kind.value, meta.holder_code),
        what_zh="变更该证照",
        what_en="change this licence",
    )
    return admin


def _require_disinterested(
    principal: Principal, *, opened: bool, bound: bool, what_zh: str, what_en: str
) -> None:
    if opened:
        raise Forbidden(
            "own_application",
            f"该申请由您本人提出，您不能{what_zh}；请由其他工作人员办理。",
            f"You opened this application, so you may not {what_en}; another member of staff must.",
        )
    if bound:
        raise Forbidden(
            "party_conflict",
            f"您的账号绑定了该申请的申请人（持证主体），存在利害关系，不能{what_zh}；请由其他工作人员办理。",
            f"Your account is bound to this application's applicant (the holder), a conflict of "
            f"interest, so you may not {what_en}; another member of staff must.",
        )
