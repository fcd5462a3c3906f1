"""Who may read and change an application, and the one answer for an application they may not see."""

from __future__ import annotations

from onestop.errors import Forbidden, NotFound

from .deps import ApplicationDeps
from .identity import Principal
from .models import EDITABLE_STATUSES, Application, ApplicationStatus
from .state import STATUS_NAMES, conflict
from .window import follows, owner_actor


def not_found() -> NotFound:
    # The same answer whether the application does not exist or belongs to someone else.
    return NotFound("application_not_found", "申请不存在。", "No such application.")


def may_read(principal: Principal, application: Application) -> bool:
    """Reviewers read every application, applicants their own; a window application also the accounts
    bound to its applicant (`applications.window`)."""
    return principal.is_reviewer or application.owner_sub == principal.sub or follows(principal, application)


def owned(deps: ApplicationDeps, principal: Principal, application_id: str) -> Application:
    """The application if the caller owns it: 404 if they may not read it, 403 if only read it."""
    principal.require_authenticated()
    application = deps.repository.get(application_id)
    if application is None or not may_read(principal, application):
        raise not_found()
    if application.owner_sub != principal.sub:
        raise Forbidden(
            "owner_only",
            "只有申请人本人可以执行该操作。",
            "Only the applicant who owns the application may do this.",
        )
    owner_actor(principal, application)  # a window application: its clerk, through the window client
    return application


def require_editable(application: Application, what: str) -> None:
    """Materials change only in a draft or while a correction is asked for (409 otherwise)."""
    status = ApplicationStatus(application.status)
    if status not in EDITABLE_STATUSES:
        name_zh, name_en = STATUS_NAMES[status]
        raise conflict(
            status,
            application.version,
            what,
            zh=f"申请当前状态为「{name_zh}」，材料只能在草稿或待补正状态下更改。",
            en=f"The application is {name_en}; materials can be changed only while it is a draft or "
            "waiting for correction.",
        )
