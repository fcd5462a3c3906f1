"""Synthetic document specimens rendered with a CJK font, for OCR tests and bench/bench_ocr.py.

The font comes from the Debian package fonts-wqy-zenhei (or fonts-noto-cjk); nothing is downloaded.
All people, companies and numbers here are invented; the identifiers carry valid check characters.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path

from onestop.identifiers.resident_id import id_check_char
from onestop.identifiers.uscc import compose_uscc
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"),
)


class FontMissing(RuntimeError):
    pass


def cjk_font_path() -> Path:
    """The first installed CJK font; raises with the package to install when there is none."""
    for path in FONT_CANDIDATES:
        if path.is_file():
            return path
    raise FontMissing(
        "no CJK font found; install the Debian package fonts-wqy-zenhei "
        "(apt-get install -y fonts-wqy-zenhei) "
        f"— looked for {', '.join(str(p) for p in FONT_CANDIDATES)}"
    )


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(cjk_font_path()), size=size, index=0)


LICENCE_USCC = compose_uscc("91440300", "MA5G7Q2K")
COMPANY = "深圳市前海示例科技有限公司"
PERSON_ID = "44030419900102002" + id_check_char("44030419900102002")


@dataclass(frozen=True)
class Specimen:
    """A rendered page, its text lines (ground truth, reading order) and its key fields."""

    kind: str
    image: Image.Image
    lines: tuple[str, ...]
    fields: dict[str, str]


def business_licence() -> Specimen:
    width, height = 1240, 1754  # A4 at 150 dpi
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle((60, 60, width - 60, height - 60), outline=(180, 40, 40), width=6)
    title = "营业执照"
    draw.text((width // 2 - 200, 150), title, font=_font(100), fill="black")
    rows = [
        ("统一社会信用代码", LICENCE_USCC),
        ("名称", COMPANY),
        ("类型", "有限责任公司"),
        ("法定代表人", "张三丰"),
        ("注册资本", "人民币壹佰万元整"),
        ("成立日期", "2019年03月15日"),
        ("营业期限", "2019年03月15日至长期"),
        ("住所", "深圳市南山区粤海街道科技园路1号"),
        ("经营范围", "软件开发；信息技术咨询服务"),
        ("登记机关", "深圳市市场监督管理局"),
    ]
    font = _font(36)
    y = 380
    lines = [title]
    for label, value in rows:
        draw.text((140, y), label, font=font, fill="black")
        draw.text((520, y), value, font=font, fill="black")
        lines.append(f"{label}{value}")
        y += 95
    return Specimen(
        "business_licence",
        img,
        tuple(lines),
        {
            "uscc": LICENCE_USCC,
            "enterprise_name": COMPANY,
            "legal_representative": "张三丰",
            "address": "深圳市南山区粤海街道科技园路1号",
            "established_date": "2019-03-15",
        },
    )


def resident_id_card() -> Specimen:
    width, height = 1012, 638  # 85.6 x 54 mm at 300 dpi
    img = Image.new("RGB", (width, height), (236, 240, 246))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((8, 8, width - 8, height - 8), radius=30, outline=(150, 160, 180), width=3)
    draw.rectangle((700, 110, 940, 420), fill=(210, 216, 226))  # photo area, no face
    label_font, value_font = _font(30), _font(38)
    grey = (90, 100, 120)
    draw.text((60, 60), "姓名", font=label_font, fill=grey)
    draw.text((160, 54), "李小梅", font=value_font, fill="black")
    draw.text((60, 140), "性别", font=label_font, fill=grey)
    draw.text((160, 134), "女", font=value_font, fill="black")
    draw.text((300, 140), "民族", font=label_font, fill=grey)
    draw.text((400, 134), "汉", font=value_font, fill="black")
    draw.text((60, 220), "出生", font=label_font, fill=grey)
    draw.text((160, 214), "1990年1月2日", font=value_font, fill="black")
    draw.text((60, 300), "住址", font=label_font, fill=grey)
    draw.text((160, 294), "广东省深圳市福田区", font=value_font, fill="black")
    draw.text((160, 350), "福中三路市民中心B区", font=value_font, fill="black")
    draw.text((60, 520), "公民身份号码", font=label_font, fill=grey)
    draw.text((290, 512), PERSON_ID, font=_font(44), fill="black")
    lines = (
        "姓名李小梅",
        "性别女民族汉",
        "出生1990年1月2日",
        "住址广东省深圳市福田区",
        "福中三路市民中心B区",
        f"公民身份号码{PERSON_ID}",
    )
    return Specimen(
        "resident_id_card",
        img,
        lines,
        {
            "person_name": "李小梅",
            "sex": "女",
            "ethnicity": "汉",
            "birth_date": "1990-01-02",
            "id_number": PERSON_ID,
            "address": "广东省深圳市福田区福中三路市民中心B区",
        },
    )


def application_form() -> Specimen:
    width, height = 1240, 1754
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    title = "成品油零售经营资格申请表"
    draw.text((200, 140), title, font=_font(64), fill="black")
    rows = [
        ("申请人名称", COMPANY),
        ("统一社会信用代码", LICENCE_USCC),
        ("法定代表人", "张三丰"),
        ("联系电话", "13800138000"),
        ("地址", "深圳市南山区粤海街道科技园路1号"),
        ("申请事项", "成品油零售经营资格审批"),
        ("申请日期", "2024年05月06日"),
    ]
    font = _font(34)
    top, row_h = 330, 110
    draw.rectangle((100, top, width - 100, top + row_h * len(rows)), outline="black", width=3)
    lines = [title]
    for i, (label, value) in enumerate(rows):
        y = top + i * row_h
        if i:
            draw.line((100, y, width - 100, y), fill="black", width=2)
        draw.line((460, top, 460, top + row_h * len(rows)), fill="black", width=2)
        draw.text((130, y + 36), label, font=font, fill="black")
        draw.text((490, y + 36), value, font=font, fill="black")
        lines.append(f"{label}{value}")
    draw.text((700, top + row_h * len(rows) + 120), "申请人（签字盖章）：", font=font, fill="black")
    lines.append("申请人（签字盖章）：")
    return Specimen(
        "application_form",
        img,
        tuple(lines),
        {"applicant_name": COMPANY, "uscc": LICENCE_USCC, "contact_phone": "13800138000"},
    )


SPECIMENS = {
    "business_licence": business_licence,
    "resident_id_card": resident_id_card,
    "application_form": application_form,
}

# --- degradations ------------------------------------------------------------------------------------


def blurred(img: Image.Image, radius: float = 1.4) -> Image.Image:
    return img.filter(ImageFilter.GaussianBlur(radius))


def skewed(img: Image.Image, degrees: float = 3.0) -> Image.Image:
    return img.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="white")


def turned(img: Image.Image) -> Image.Image:
    return img.rotate(180)


def noisy_jpeg(img: Image.Image, quality: int = 30, sigma: float = 12.0, seed: int = 7) -> Image.Image:
    import numpy as np

    rng = np.random.default_rng(seed)
    pixels = np.asarray(img, dtype=np.float32)
    pixels = np.clip(pixels + rng.normal(0, sigma, pixels.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


DEGRADATIONS = {
    "clean": lambda img: img,
    "blur": blurred,
    "skew": skewed,
    "jpeg_noise": noisy_jpeg,
    "rot180": turned,
}


def jpeg_bytes(img: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def png_bytes(img: Image.Image) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


def scanned_pdf_bytes(img: Image.Image) -> bytes:
    """A PDF whose only page is the image (a 'scan' with no text layer)."""
    buffer = io.BytesIO()
    img.save(buffer, format="PDF", resolution=150)
    return buffer.getvalue()


def text_pdf_bytes(lines: list[str]) -> bytes:
    """A born-digital PDF with a real CJK text layer (reportlab, built-in STSong-Light CID font)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setFont("STSong-Light", 14)
    y = 780
    for line in lines:
        pdf.drawString(72, y, line)
        y -= 28
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def random_noise_photo(seed: int = 3, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A 'photo' with no text: smooth colour blobs."""
    rnd = random.Random(seed)
    img = Image.new("RGB", size, (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x, y = rnd.randrange(size[0]), rnd.randrange(size[1])
        r = rnd.randrange(30, 160)
        colour = (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    return img.filter(ImageFilter.GaussianBlur(8))
