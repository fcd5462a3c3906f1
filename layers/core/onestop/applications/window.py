"""The service window: a clerk applies at the service centre on the applicant's behalf.

Who: a member of the Cognito group `clerk`, signed in through the service-window app client (the only
way a token's channel is `service_window`: `applications.channels`). A separate group rather than the
reviewer group at the window, because whoever applies never decides (`applications.duties`): a
reviewer who opened applications at the window would then be barred from deciding on them by name,
one application at a time, while a clerk simply cannot decide at all; and a clerk reads no other
application, where a reviewer reads every one.

The applicant is recorded as always (`Application.applicant`: the enterprise by USCC, the person by
resident ID number, check digits verified); the window identified them in person from their papers,
so the account-to-party binding that online applicants need (`parties.rules.require_acts_for`) is the
clerk's check at the counter, not a claim of the clerk's token. The application records the channel
`service_window` and the clerk (`clerk`), and the clerk owns it (`owner_sub`): the window keeps handling
it (materials, submit, withdraw) through the window client.

Ownership and reading:
- the clerk who opened it acts on it, only through the window client; no other clerk sees it (a clerk
  is not a reviewer: any application they did not open is "not found");
- the applicant follows it online: every account bound to the applicant's party (its verified
  `custom:uscc` / `custom:id_number`, as `parties.bindings` grants them) reads it and lists it
  (`GET /applications/window`), but does not act on it — the window that took the papers does;
- reviewers read and decide on it as on any other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from onestop.errors import Forbidden
from onestop.parties.rules import require_acts_for

from .channels import Channel
from .identity import Principal, Role
from .models import Application, Page

if TYPE_CHECKING:  # the use case below takes them; the access checks above need neither
    from .deps import ApplicationDeps


def is_window_application(application: Application) -> bool:
    """Whether the application was made at the service window."""
    return application.channel == Channel.SERVICE_WINDOW.value


def require_clerk(principal: Principal) -> Principal:
    """The caller acting as a window clerk: the service-window client and the `clerk` group (403)."""
    principal.require_authenticated()
    if principal.require_channel() != Channel.SERVICE_WINDOW:
        raise Forbidden(
            "window_client_required",
            "代办申请只能在服务窗口的客户端上由窗口工作人员办理。",
            "Applying on an applicant's behalf is done only at the service window, through its client.",
        )
    if not principal.is_clerk:
        raise Forbidden(
            "clerk_role_required",
            "服务窗口客户端仅供窗口工作人员（clerk 组）使用；申请人请通过网上办事大厅、城市 App 或"
            "微信小程序自行申请。",
            "The service-window client is for the window's clerks (the clerk group) only; applicants "
            "apply themselves through the web portal, the city app or the mini program.",
        )
    return principal.acting_as(Role.CLERK)


def follows(principal: Principal, application: Application) -> bool:
    """Whether the caller is the applicant of a window application, following it online."""
    return is_window_application(application) and principal.acts_for(
        application.applicant.kind, application.applicant.code
    )


def owner_actor(principal: Principal, application: Application) -> Principal:
    """The owner acting on their application: a window application's clerk only through the window
    client and as a clerk (403 otherwise); any other owner as they are."""
    if not is_window_application(application):
        return principal
    return require_clerk(principal)


def list_for_party(
    deps: ApplicationDeps, principal: Principal, code: str, *, limit: int = 20, cursor: str | None = None
) -> Page[Application]:
    """The window applications of a party the caller is bound to (`custom:id_number` for the person,
    `custom:uscc` for an enterprise), newest first; 403 `party_not_bound` for any other party."""
    principal.require_authenticated()
    wanted = "".join(code.split()).upper()
    kind = "person" if principal.id_number is not None and wanted == principal.id_number else "enterprise"
    require_acts_for(principal, kind, wanted, field="party")
    return deps.repository.list_window_by_party(kind, wanted, limit=limit, cursor=cursor)
