"""Sample applicant documents for the demo, the e2e tests and the benchmarks.

They are made here, at run time, from the CJK font the licence renderer ships (so no system font is
needed): a business licence photo-like PNG (goes through OCR), an ID card face, and born-digital
PDFs with a real text layer (application form, contract, generic certificates).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path

from onestop.identifiers import compose_uscc, id_check_char
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

FONT_NAME = "OnestopSampleCJK"


def font_path() -> Path:
    """The pre-subset CJK TrueType font shipped with the licence renderer."""
    return Path(str(resources.files("onestop.licences") / "fonts" / "onestop-cjk.ttf"))


@dataclass(frozen=True)
class SampleEnterprise:
    """An applicant enterprise whose codes pass their check characters."""

    name: str = "深圳市前海星河技术有限公司"
    uscc: str = compose_uscc("91440300", "MA5FQ1P3")
    legal_representative: str = "王小明"
    address: str = "深圳市南山区粤海街道科技园路十号"
    established: date = date(2019, 6, 18)
    capital: str = "伍佰万元整"


def sample_resident_id(birth: date = date(1985, 3, 7), region: str = "440305", seq: str = "123") -> str:
    """A resident ID number with a correct GB 11643 check character."""
    first17 = f"{region}{birth:%Y%m%d}{seq}"
    return first17 + id_check_char(first17)


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path()), size)


def business_licence_png(enterprise: SampleEnterprise | None = None, *, scale: float = 1.0) -> bytes:
    """A business licence (营业执照) face as a PNG image, as a phone scan would give it."""
    e = enterprise or SampleEnterprise()
    width, height = int(1654 * scale), int(1169 * scale)
    image = Image.new("RGB", (width, height), (252, 250, 244))
    draw = ImageDraw.Draw(image)
    draw.rectangle([30, 30, width - 30, height - 30], outline=(170, 40, 40), width=int(6 * scale))
    title = _font(int(96 * scale))
    body = _font(int(40 * scale))
    draw.text((width // 2, int(150 * scale)), "营业执照", font=title, fill=(150, 20, 20), anchor="mm")
    lines = [
        ("统一社会信用代码", e.uscc),
        ("名称", e.name),
        ("类型", "有限责任公司"),
        ("法定代表人", e.legal_representative),
        ("注册资本", e.capital),
        ("成立日期", f"{e.established.year}年{e.established.month}月{e.established.day}日"),
        ("营业期限", f"{e.established.year}年{e.established.month}月{e.established.day}日至长期"),
        ("住所", e.address),
        ("经营范围", "技术开发、技术咨询、技术服务；进出口业务"),
    ]
    y = int(300 * scale)
    for label, value in lines:
        draw.text((int(140 * scale), y), f"{label}  {value}", font=body, fill=(20, 20, 20))
        y += int(78 * scale)
    draw.text(
        (width - int(520 * scale), height - int(150 * scale)),
        "登记机关  深圳市市场监督管理局",
        font=_font(int(32 * scale)),
        fill=(20, 20, 20),
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def id_card_png(name: str = "王小明", number: str | None = None, birth: date = date(1985, 3, 7)) -> bytes:
    """The face of a resident ID card (居民身份证) as a JPEG-like PNG."""
    number = number or sample_resident_id(birth)
    image = Image.new("RGB", (1012, 638), (236, 242, 248))
    draw = ImageDraw.Draw(image)
    f = _font(34)
    rows = [
        f"姓名  {name}",
        "性别  男    民族  汉",
        f"出生  {birth.year}年{birth.month}月{birth.day}日",
        "住址  深圳市南山区科技园路十号",
        f"公民身份号码  {number}",
    ]
    y = 70
    for row in rows:
        draw.text((60, y), row, font=f, fill=(15, 15, 15))
        y += 100
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _pdf(title: str, paragraphs: list[str]) -> bytes:
    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(font_path())))
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=True)
    width, height = A4
    canvas.setFont(FONT_NAME, 20)
    canvas.drawCentredString(width / 2, height - 90, title)
    canvas.setFont(FONT_NAME, 12)
    y = height - 140
    for paragraph in paragraphs:
        for start in range(0, len(paragraph), 38):
            canvas.drawString(70, y, paragraph[start : start + 38])
            y -= 20
        y -= 8
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def application_form_pdf(item_name: str, enterprise: SampleEnterprise | None = None) -> bytes:
    """A filled-in application form (申请表), born digital."""
    e = enterprise or SampleEnterprise()
    return _pdf(
        f"{item_name}申请表",
        [
            f"申请单位：{e.name}",
            f"统一社会信用代码：{e.uscc}",
            f"法定代表人：{e.legal_representative}",
            f"住所：{e.address}",
            "联系电话：0755-86001234",
            f"申请事项：{item_name}",
            "申请人承诺：所提交材料真实、合法、有效，如有虚假，愿承担相应法律责任。",
            "申请人（盖章）：                日期：2026年11月28日",
        ],
    )


def contract_pdf(enterprise: SampleEnterprise | None = None) -> bytes:
    """A technology import/export contract, born digital."""
    e = enterprise or SampleEnterprise()
    return _pdf(
        "技术进出口合同",
        [
            f"甲方（受让方）：{e.name}",
            "乙方（让与方）：Northwind Technology GmbH",
            "第一条 合同标的：工业视觉检测软件的专利实施许可及技术秘密转让。",
            "第二条 合同金额：人民币捌拾万元整。",
            "第三条 有效期：自合同生效之日起三年。",
            "甲方（盖章）                乙方（盖章）",
        ],
    )


def site_certificate_pdf(holder: str) -> bytes:
    """A site-use certificate with the lease facts the catalogue requires of one, born digital."""
    return _pdf(
        "场地使用证明",
        [
            "出租方：深圳市南山区物业管理有限公司",
            f"承租方：{holder}",
            "房屋坐落：深圳市南山区粤海街道科技园路1号A栋301",
            "租赁期限：2026年01月01日至2028年12月31日",
            "兹证明上述场地由承租方使用，特此证明。",
            "出具单位（盖章）   2026年11月1日",
        ],
    )


def generic_certificate_pdf(title: str, holder: str) -> bytes:
    """Any other supporting certificate (场地证明、消防验收意见 …), born digital."""
    return _pdf(title, [f"兹证明：{holder}", "特此证明。", "出具单位（盖章）   2026年11月1日"])
