"""The one rule for acting for a party: the caller's verified claims must bind it to the party."""

from __future__ import annotations

from onestop.applications.identity import Principal
from onestop.errors import Forbidden, Reason


def require_acts_for(principal: Principal, kind: str, code: str, *, field: str | None = None) -> None:
    """403 unless the caller is bound to the party (a person: its verified ID number; an enterprise:
    a USCC bound to the account), saying how to get bound."""
    if principal.acts_for(kind, code):
        return
    shown = "".join(code.split()).upper()
    if kind == "person":
        raise Forbidden(
            "party_not_bound",
            f"本账号经实名核验的身份证号码不是 {shown}，只能以本人身份申请；请用该本人的账号办理。",
            f"This account's verified identity is not the person {shown}; an account applies only for "
            "its own person. Sign in with that person's account.",
            [Reason("party_not_bound", "不是本账号核验的本人。", "Not this account's person.", field)],
        )
    raise Forbidden(
        "party_not_bound",
        f"本账号未绑定统一社会信用代码为 {shown} 的企业，不能代其办理；请先提交企业绑定申请"
        "（POST /bindings，附授权委托书），经管理员核准后重新登录。",
        f"This account is not bound to the enterprise {shown}, so it cannot act for it. Ask to be bound "
        "first (POST /bindings with a power of attorney); once an administrator approves, sign in again.",
        [Reason("party_not_bound", "本账号未绑定该企业。", "Not bound to this enterprise.", field)],
    )
