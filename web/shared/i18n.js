// zh / en: one dictionary, the current language, and helpers to put text on the page.
// Static text in the HTML carries data-i18n="key" (textContent) or data-i18n-attr="attr:key;…";
// dynamic text is built with t() and loc() and rebuilt when the language changes ("langchange").

const KEY = "onestop.lang";

const TEXT = {
  // page furniture
  "site.name": ["一站式政务服务", "One-stop government services"],
  "nav.label": ["页面", "Pages"],
  "nav.home": ["首页", "Home"],
  "nav.portal": ["办事门户", "Applicant portal"],
  "nav.desk": ["审批工作台", "Reviewer desk"],
  "nav.kpi": ["服务指标", "Service KPIs"],
  "nav.verify": ["证照核验", "Verify a licence"],
  "skip": ["跳到主要内容", "Skip to the main content"],
  "lang.switch": ["English", "中文"],
  "signed.in.as": ["已登录：{name}（{role}）", "Signed in: {name} ({role})"],
  "sign.out": ["退出登录", "Sign out"],
  "role.applicant": ["申请人", "applicant"],
  "role.reviewer": ["审批人员", "reviewer"],
  "role.admin": ["管理员", "administrator"],
  "loading": ["正在加载…", "Loading…"],
  "back": ["← 返回", "← Back"],
  "none": ["无", "none"],
  "yes": ["是", "yes"],
  "no": ["否", "no"],
  "days": ["{n} 个工作日", "{n} working days"],
  "landing.lead": [
    "网上申请、材料自动识别、审批、电子证照签发与核验，一次都不用跑。",
    "Apply online, have the materials read automatically, get a decision and a sealed e-licence anyone can verify — without a single visit.",
  ],
  "landing.portal": [
    "选择事项、上传材料、提交申请、查看进度、下载电子证照、评价服务。",
    "Choose a service, upload the materials, submit, follow progress, download the e-licence, rate the service.",
  ],
  "landing.desk": [
    "按期限办理待办件：查看材料和识别结果，受理、补正、准予或不予许可，管理证照状态。",
    "Work the queue by deadline: read the materials and what was extracted, accept, ask for corrections, approve or reject, manage licences.",
  ],
  "landing.kpi": ["收件与办结、按时办结率、好差评分布。", "Received and completed, on-time rate, ratings by level."],
  "landing.verify": ["任何人都可以核验电子证照是否真实、有效。", "Anyone can check that an e-licence is genuine and still valid."],

  // sign-in
  "signin.title": ["登录", "Sign in"],
  "signin.local.hint": [
    "本地开发环境：输入姓名并选择角色即可登录（由本地身份服务签发令牌）。",
    "Local stack: type a name and choose a role (the local identity provider issues the token).",
  ],
  "signin.name": ["姓名", "Name"],
  "signin.role": ["角色", "Role"],
  "signin.submit": ["登录", "Sign in"],
  "signin.hosted": ["通过统一身份认证登录", "Sign in with the bureau's identity service"],
  "signin.need.role": [
    "本页面需要「{role}」角色，请用相应账号登录。",
    "This page needs the {role} role; sign in with such an account.",
  ],
  "signin.done": ["已登录。", "Signed in."],
  "signin.name.missing": ["请输入姓名。", "Type your name."],
  "signin.state.mismatch": [
    "登录回调无效（state 不符），请重新登录。",
    "The sign-in reply was not for this page (state mismatch); sign in again.",
  ],

  // errors the pages make themselves
  "error.unexpected": ["页面出错了，请刷新后重试。", "Something went wrong on this page; reload it and try again."],
  "error.network": ["无法连接服务器，请检查网络后重试。", "Cannot reach the server; check the connection and try again."],
  "error.unauthorized": ["登录已失效，请重新登录。", "Your sign-in has expired; sign in again."],
  "error.http": ["服务器返回错误（HTTP {status}）。", "The server answered with an error (HTTP {status})."],
  "error.reference": ["如需帮助，请提供编号：{ref}", "Quote this reference if you ask for help: {ref}"],
  "error.upload": ["文件未能上传到存储（HTTP {status}）。", "The file could not be stored (HTTP {status})."],

  // statuses
  "status.draft": ["草稿", "draft"],
  "status.submitted": ["已提交", "submitted"],
  "status.accepted": ["已受理", "accepted"],
  "status.correction_requested": ["待补正", "correction requested"],
  "status.approved": ["准予许可", "approved"],
  "status.rejected": ["不予许可", "rejected"],
  "status.withdrawn": ["已撤回", "withdrawn"],
  "material.awaiting_upload": ["等待上传", "waiting for the upload"],
  "material.processing": ["正在识别", "being processed"],
  "material.catalogued": ["已编目", "catalogued"],
  "material.needs_attention": ["需要处理", "needs attention"],
  "material.rejected": ["已拒收", "refused"],
  "material.failed": ["处理失败", "processing failed"],

  // material types (shared vocabulary)
  "type.business_licence": ["营业执照", "business licence"],
  "type.resident_id_card": ["居民身份证", "resident ID card"],
  "type.application_form": ["申请表", "application form"],
  "type.site_certificate": ["场地使用证明/租赁合同", "lease or site certificate"],
  "type.articles_of_association": ["公司章程", "articles of association"],
  "type.land_use_certificate": ["土地使用权证明", "land use certificate"],
  "type.site_plan": ["平面布置图", "site plan"],
  "type.safety_approval": ["安全条件审查/安全评价意见", "safety approval"],
  "type.fire_approval": ["消防验收意见", "fire safety approval"],
  "type.name_preapproval": ["企业名称预先核准通知书", "name pre-approval notice"],
  "type.power_of_attorney": ["授权委托书", "power of attorney"],
  "type.environmental_approval": ["环境影响评价批复", "environmental approval"],
  "type.financial_statement": ["财务审计报告", "audited financial statement"],
  "type.qualification_certificate": ["资质/资格证书", "qualification certificate"],
  "type.other": ["其他材料", "other material"],

  // extracted fields (shared vocabulary)
  "field.uscc": ["统一社会信用代码", "USCC"],
  "field.enterprise_name": ["企业名称", "enterprise name"],
  "field.legal_representative": ["法定代表人", "legal representative"],
  "field.address": ["住所", "address"],
  "field.registered_capital": ["注册资本", "registered capital"],
  "field.established_date": ["成立日期", "established"],
  "field.business_term": ["营业期限", "business term"],
  "field.business_scope": ["经营范围", "business scope"],
  "field.person_name": ["姓名", "name"],
  "field.sex": ["性别", "sex"],
  "field.ethnicity": ["民族", "ethnicity"],
  "field.birth_date": ["出生日期", "date of birth"],
  "field.id_number": ["公民身份号码", "ID number"],
  "field.issuing_authority": ["签发机关", "issuing authority"],
  "field.valid_from": ["有效期起", "valid from"],
  "field.valid_until": ["有效期至", "valid until"],
  "field.applicant_name": ["申请人", "applicant"],
  "field.contact_phone": ["联系电话", "contact phone"],
  "field.lessor": ["出租方", "lessor"],
  "field.lessee": ["承租方", "lessee"],
  "field.lease_term": ["租赁期限", "lease term"],
  "field.licence_number": ["证照编号", "licence number"],
  "field.licence_id": ["证照标识", "licence identifier"],

  // materials as shown to people
  "mat.file": ["文件", "File"],
  "mat.classified": ["识别为：{type}（置信度 {pct}%）", "Recognised as: {type} (confidence {pct}%)"],
  "mat.fields": ["提取的信息", "Extracted fields"],
  "mat.no.fields": ["未提取到字段", "No fields extracted"],
  "mat.problems": ["发现的问题", "Problems found"],
  "mat.no.problems": ["未发现问题", "No problems found"],
  "mat.pdf": ["查看规范化 PDF", "Open the normalised PDF"],
  "mat.pages": ["{n} 页", "{n} page(s)"],
  "mat.none": ["尚未上传", "Nothing uploaded yet"],
  "mat.remove": ["删除「{name}」", "Remove '{name}'"],
  "mat.removed": ["已删除「{name}」。", "Removed '{name}'."],
  "mat.changed": ["「{slot}」：{status}", "'{slot}': {status}"],
  "req.required": ["必需", "required"],
  "req.conditional": ["视情况提供", "if applicable"],
  "req.optional": ["可选", "optional"],

  // audit trail actions
  "audit.create": ["创建申请", "created"],
  "audit.remove_material": ["删除材料", "removed a file"],
  "audit.submit": ["提交", "submitted"],
  "audit.accept": ["受理", "accepted"],
  "audit.request_correction": ["要求补正", "requested correction"],
  "audit.approve": ["准予许可", "approved"],
  "audit.reject": ["不予许可", "rejected"],
  "audit.withdraw": ["撤回", "withdrew"],
  "audit.attach_elicence": ["以电子证照代替材料", "used an e-licence for a material"],
  "audit.line": ["{at} · {actor}：{action}", "{at} · {actor}: {action}"],
};

const PORTAL = {
  "portal.title": ["办事门户", "Applicant portal"],
  "portal.items": ["办理事项", "Service items"],
  "portal.search": ["搜索事项", "Search service items"],
  "portal.search.button": ["搜索", "Search"],
  "portal.category": ["类别", "Category"],
  "portal.category.all": ["全部类别", "All categories"],
  "portal.items.count": ["共 {n} 个事项", "{n} service item(s)"],
  "portal.items.none": ["没有符合条件的事项。", "No service item matches."],
  "portal.limit": ["承诺 {p} 个工作日（法定 {s} 个）", "promised {p} working days (statutory {s})"],
  more: ["显示更多", "Show more"],
  "portal.myapps": ["我的申请", "My applications"],
  "portal.myapps.none": ["您还没有申请。", "You have no applications yet."],
  "portal.item.department": ["实施部门", "Department"],
  "portal.item.category": ["事项类别", "Category"],
  "portal.item.limit": ["办理时限", "Time limit"],
  "portal.item.fee": ["收费", "Fee"],
  "portal.item.visits": ["到现场次数", "Visits in person"],
  "portal.item.licence": ["办理结果", "Result"],
  "portal.item.materials": ["所需材料", "Materials needed"],
  "portal.item.material.name": ["材料名称", "Material"],
  "portal.item.material.req": ["要求", "Requirement"],
  "portal.item.material.formats": ["格式", "Formats"],
  "portal.item.material.size": ["大小上限", "Size limit"],
  "portal.item.material.count": ["份数", "Copies"],
  "portal.create": ["新建申请", "Start an application"],
  "portal.kind": ["申请人类型", "Applicant"],
  "portal.kind.enterprise": ["企业（统一社会信用代码）", "Enterprise (unified social credit code)"],
  "portal.kind.person": ["个人（公民身份号码）", "Person (resident ID number)"],
  "portal.uscc": ["统一社会信用代码", "Unified social credit code (USCC)"],
  "portal.uscc.hint": ["18 位，见营业执照", "18 characters, printed on the business licence"],
  "portal.enterprise.name": ["企业名称", "Enterprise name"],
  "portal.id.number": ["公民身份号码", "Resident ID number"],
  "portal.person.name": ["姓名", "Name"],
  "portal.contact.name": ["联系人", "Contact person"],
  "portal.contact.phone": ["联系电话", "Contact phone"],
  "portal.create.button": ["创建申请", "Create the application"],
  "portal.created": ["申请已创建，请上传材料。", "Application created; upload the materials."],
  "portal.app": ["申请：{item}", "Application: {item}"],
  "portal.app.id": ["申请编号", "Application number"],
  "portal.app.status": ["状态", "Status"],
  "portal.app.applicant": ["申请人", "Applicant"],
  "portal.app.submitted": ["提交时间", "Submitted"],
  "portal.app.acceptance.due": ["受理期限", "To be accepted by"],
  "portal.app.deadline": ["办结期限", "To be decided by"],
  "portal.app.materials": ["申请材料", "Materials"],
  "portal.upload": ["上传「{name}」", "Upload '{name}'"],
  "portal.upload.hint": ["{formats}，不超过 {size}", "{formats}, up to {size}"],
  "portal.uploading": ["正在上传「{file}」：{pct}%", "Uploading '{file}': {pct}%"],
  "portal.uploaded": ["「{file}」已上传，正在识别…", "'{file}' uploaded; being processed…"],
  "portal.elicence": ["用已有电子证照代替", "Use an e-licence you hold"],
  "portal.elicence.id": ["电子证照标识", "E-licence identifier"],
  "portal.elicence.hint": [
    "无需上传文件：填写本局向申请人颁发的有效电子证照的标识，形如 1.2.156.3005.2.…（见证照详情或证照文件）。",
    "No file needed: give the identifier of a valid e-licence the bureau issued to the applicant; it looks like 1.2.156.3005.2.… (shown with the licence and on it).",
  ],
  "portal.elicence.hint.type": [
    "无需上传文件：填写本局向申请人颁发的有效「{type}」的标识，形如 1.2.156.3005.2.…（见证照详情或证照文件）。",
    "No file needed: give the identifier of a valid '{type}' the bureau issued to the applicant; it looks like 1.2.156.3005.2.… (shown with the licence and on it).",
  ],
  "portal.elicence.submit": ["使用该电子证照", "Use this e-licence"],
  "portal.elicence.busy": ["正在核验电子证照…", "Checking the e-licence…"],
  "portal.elicence.done": ["已用电子证照代替「{name}」。", "'{name}' is now provided by the e-licence."],
  "mat.source.elicence": ["电子证照", "E-licence"],
  "portal.submit": ["提交申请", "Submit the application"],
  "portal.resubmit": ["补正后重新提交", "Submit the corrections"],
  "portal.withdraw": ["撤回申请", "Withdraw the application"],
  "portal.withdraw.confirm": ["确定撤回此申请吗？", "Withdraw this application?"],
  "portal.submitted": ["申请已提交，等待受理。", "Submitted; waiting to be accepted."],
  "portal.withdrawn": ["申请已撤回。", "The application was withdrawn."],
  "portal.notice": ["一次性告知", "One-time notice"],
  "portal.notice.lead": ["请按以下清单一次性补齐后再提交：", "Fix every item below, then submit again:"],
  "portal.correction": ["补正要求", "Corrections requested"],
  "portal.decision.reasons": ["决定理由", "Reasons for the decision"],
  "portal.comment": ["审批意见：{text}", "Reviewer's comment: {text}"],
  "portal.licence": ["电子证照", "E-licence"],
  "portal.licence.number": ["证照编号", "Licence number"],
  "portal.licence.id": ["证照标识", "Licence identifier"],
  "portal.licence.status": ["证照状态", "Licence status"],
  "portal.licence.issued": ["颁发日期", "Issued on"],
  "portal.licence.download": ["下载电子证照（PDF）", "Download the e-licence (PDF)"],
  "portal.licence.verify": ["核验电子证照", "Verify the e-licence"],
  "portal.licence.waiting": ["证照正在签发…", "The licence is being issued…"],
  "portal.licence.ready": ["电子证照已签发。", "The e-licence has been issued."],
  "portal.review": ["服务评价（好差评）", "Rate the service"],
  "portal.review.level": ["总体评价", "Overall"],
  "portal.review.indicators": ["分项评分（1 最差，5 最好）", "Each aspect (1 worst, 5 best)"],
  "portal.review.comment": ["意见建议（可选）", "Comment (optional)"],
  "portal.review.submit": ["提交评价", "Send the rating"],
  "portal.review.thanks": ["感谢您的评价：{level}", "Thank you for your rating: {level}"],
  "portal.review.case": ["整改工单：{status}，期限 {due}", "Rectification case: {status}, due {due}"],
  "portal.review.response": ["处理结果：{text}", "Outcome: {text}"],
  "portal.audit": ["办理记录", "History"],
  "level.very_satisfied": ["非常满意", "very satisfied"],
  "level.satisfied": ["满意", "satisfied"],
  "level.basically_satisfied": ["基本满意", "basically satisfied"],
  "level.dissatisfied": ["不满意", "dissatisfied"],
  "level.very_dissatisfied": ["非常不满意", "very dissatisfied"],
  "indicator.overall_satisfaction": ["总体满意度", "overall satisfaction"],
  "indicator.efficiency": ["办事效率", "efficiency"],
  "indicator.guidance_accuracy": ["办事指南准确性", "accuracy of guidance"],
  "indicator.convenience": ["办事便利度", "convenience"],
  "indicator.platform_usability": ["平台易用性", "platform usability"],
};

const DESK = {
  "desk.title": ["审批工作台", "Reviewer desk"],
  "desk.queue": ["待办队列", "Queue"],
  "desk.queue.caption": ["按期限排序，最紧急的在前", "Ordered by deadline, most urgent first"],
  "desk.filter.status": ["状态", "Status"],
  "desk.filter.pending": ["待处理（已提交和已受理）", "Waiting (submitted and accepted)"],
  "desk.filter.atrisk": ["只看即将到期或已超期", "Only due soon or overdue"],
  "desk.filter.apply": ["刷新队列", "Refresh the queue"],
  "desk.col.due": ["期限", "Due"],
  "desk.col.item": ["事项", "Service item"],
  "desk.col.applicant": ["申请人", "Applicant"],
  "desk.col.status": ["状态", "Status"],
  "desk.col.flags": ["提示", "Flags"],
  "desk.col.open": ["操作", "Action"],
  "desk.open": ["办理", "Open"],
  "desk.open.label": ["办理 {item}（{applicant}）", "Open {item} ({applicant})"],
  "desk.overdue": ["已超期", "overdue"],
  "desk.atrisk": ["即将到期", "due soon"],
  "desk.queue.none": ["队列为空。", "The queue is empty."],
  "desk.queue.count": ["共 {n} 件", "{n} application(s)"],
  "desk.queue.count.more": ["已显示 {n} 件，还有更多", "{n} application(s) shown; there are more"],
  "desk.app": ["审查：{item}", "Review: {item}"],
  "desk.version": ["版本", "Version"],
  "desk.materials": ["材料与识别结果", "Materials and what was read from them"],
  "desk.checks": ["核查结果", "Checks"],
  "desk.checks.ok": ["材料齐全，未发现问题。", "The materials are complete; no problems found."],
  "desk.decision": ["审批决定", "Decision"],
  "desk.reasons": ["理由（每行一条；要求补正和不予许可时必填）", "Reasons (one per line; needed to request correction or reject)"],
  "desk.comment": ["审批意见（可选）", "Comment (optional)"],
  "desk.no.actions": ["当前状态下没有可执行的审批操作。", "No decision can be taken in this status."],
  "desk.action.accept": ["受理", "Accept"],
  "desk.action.request_correction": ["要求补正", "Request correction"],
  "desk.action.approve": ["准予许可", "Approve"],
  "desk.action.reject": ["不予许可", "Reject"],
  "desk.done.accept": ["已受理。", "Accepted."],
  "desk.done.request_correction": ["已要求补正。", "Correction requested."],
  "desk.done.approve": ["已准予许可，证照将自动签发。", "Approved; the licence will be issued."],
  "desk.done.reject": ["已不予许可。", "Rejected."],
  "desk.licence": ["电子证照管理", "E-licence"],
  "desk.licence.history": ["证照记录", "Licence history"],
  "desk.lifecycle": ["证照状态变更", "Change the licence status"],
  "desk.lifecycle.action": ["操作", "Action"],
  "desk.lifecycle.reason": ["原因（持证人可见）", "Reason (shown to the holder)"],
  "desk.lifecycle.submit": ["执行", "Apply"],
  "desk.lifecycle.done": ["证照状态已变更为：{status}", "Licence status is now: {status}"],
  "lifecycle.suspend": ["暂扣", "suspend"],
  "lifecycle.reinstate": ["恢复", "reinstate"],
  "lifecycle.revoke": ["撤销", "revoke"],
  "lifecycle.cancel": ["注销", "cancel"],
  "lifecycle.withdraw": ["吊销", "withdraw"],
};

const KPI = {
  "kpi.title": ["服务指标", "Service KPIs"],
  "kpi.period": ["统计期间", "Period"],
  "kpi.from": ["开始日期", "From"],
  "kpi.to": ["结束日期", "To"],
  "kpi.item": ["事项", "Service item"],
  "kpi.item.all": ["全部事项", "All items"],
  "kpi.apply": ["查询", "Show"],
  "kpi.period.line": ["{from} 至 {to}（数据截至 {asof}）", "{from} to {to} (as of {asof})"],
  "kpi.figures": ["主要指标", "Key figures"],
  "kpi.received": ["收件", "Received"],
  "kpi.accepted": ["受理", "Accepted"],
  "kpi.completed": ["办结", "Completed"],
  "kpi.approved": ["准予许可", "Approved"],
  "kpi.rejected": ["不予许可", "Rejected"],
  "kpi.on_time_rate": ["按时办结率", "On-time rate"],
  "kpi.overdue": ["超期", "Overdue"],
  "kpi.returned_for_correction": ["退回补正", "Returned for correction"],
  "kpi.licences_issued": ["签发证照", "Licences issued"],
  "kpi.avg_working_days_to_decision": ["平均办理工作日", "Average working days to decision"],
  "kpi.satisfaction_rate": ["满意率", "Satisfaction rate"],
  "kpi.reviews_total": ["评价数", "Ratings"],
  "kpi.open_bad_review_cases": ["未办结差评工单", "Open bad-review cases"],
  "kpi.online_share": ["网上办理率", "Share handled online"],
  "kpi.charts": ["图表", "Charts"],
  "kpi.chart.flow": ["收件与办结（按类别）", "Received and completed, by category"],
  "kpi.chart.ontime": ["按时办结率", "On-time rate"],
  "kpi.chart.reviews": ["好差评分布", "Ratings by level"],
  "kpi.chart.total": ["合计", "Total"],
  "kpi.chart.none": ["本期没有数据。", "No data in this period."],
  "kpi.by.item": ["分事项指标", "By service item"],
  "kpi.col.item": ["事项", "Service item"],
  "kpi.loaded": ["指标已更新。", "Figures updated."],
};

const DICTS = [TEXT, PORTAL, DESK, KPI];

export function lang() {
  const stored = localStorage.getItem(KEY);
  if (stored === "zh" || stored === "en") return stored;
  return (navigator.language || "zh").toLowerCase().startsWith("zh") ? "zh" : "en";
}

export function setLang(value) {
  localStorage.setItem(KEY, value);
  applyStatic(document);
  document.dispatchEvent(new CustomEvent("langchange", { detail: value }));
}

/** The text for `key` in the current language, with {name} placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const entry = DICTS.map((d) => d[key]).find(Boolean);
  const text = entry ? entry[lang() === "zh" ? 0 : 1] : key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** Pick the current language from an API object: {zh, en}, or obj[`${base}_zh`] / obj[`${base}_en`]. */
export function loc(obj, base) {
  if (!obj) return "";
  const l = lang();
  if (base) return obj[`${base}_${l}`] ?? obj[base] ?? "";
  return obj[l] ?? obj.zh ?? obj.en ?? "";
}

/** Fill every data-i18n element under `root` and set the document language. */
export function applyStatic(root) {
  document.documentElement.lang = lang() === "zh" ? "zh-CN" : "en";
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of node.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":");
      node.setAttribute(attr.trim(), t(key.trim()));
    }
  }
}
