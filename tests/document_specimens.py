"""Realistic synthetic documents, non-documents and photo-like damage, for `make eval` and the tests.

Each specimen is rendered with PIL and a CJK font (tests/materials_specimens.py finds it) and carries
its ground truth: the text lines in reading order and the key fields under the catalogue's field
names. Layouts follow the real documents where that is what trips a reader up: the 2019 national
business licence (two-column body, labels printed spaced as "名 称", a red seal over 登记机关 and the
date under it, a diagonal watermark, a QR code, the footer), the resident ID card's front and back
(card-sized, photographed on a table) and both sides copied onto one page, contracts with their party
lines. Everything is invented; identifiers carry valid check characters. Deterministic: every random
choice comes from a seeded generator.

    from tests.document_specimens import DOCUMENTS, damage
    spec = DOCUMENTS["business_licence"]()
    data, filename = damage(spec.image, "rot90")
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from onestop.identifiers.resident_id import id_check_char
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from tests.materials_specimens import COMPANY, LICENCE_USCC, PERSON_ID, cjk_font_path

Kind = Literal["document", "unrelated", "non_document", "collage"]


@dataclass(frozen=True)
class DocSpecimen:
    """A rendered page and its truth.

    material_type: what the page is (None for a non-document); slot_type: the type of the slot it is
    uploaded into by the evaluation when `slot` names no slot of items.yaml (else that slot's type and
    formats apply, as in the ingest function). fields: key fields in the catalogue's names; a value "" means
    the document leaves it blank (nothing may be stored; the pipeline should say it is missing).
    lenient: fields only checked when a value is stored (printed in a way no reader is expected to
    get, e.g. the authority's name on the seal's arc). applicant: (kind, code, name) of the applicant
    the upload belongs to."""

    name: str
    kind: Kind
    material_type: str | None
    slot_type: str
    image: Image.Image
    lines: tuple[str, ...]
    fields: dict[str, str] = field(default_factory=dict)
    lenient: frozenset[str] = frozenset()
    applicant: tuple[str, str, str] | None = None
    slot: tuple[str, str] | None = None  # (item code, slot) in items.yaml: its type and formats apply


TECH_ITEM = "technology-contract-registration"
ENTERPRISE_APPLICANT = ("enterprise", LICENCE_USCC, COMPANY)
PERSON_NAME = "李小梅"
PERSON_APPLICANT = ("person", PERSON_ID, PERSON_NAME)
WORKER_ID = "36220119850716003" + id_check_char("36220119850716003")

INK = (28, 28, 30)
RED = (205, 30, 35)


def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(cjk_font_path()), size=size, index=0)


# --- drawing helpers ---------------------------------------------------------------------------------


def _spaced_label(draw: ImageDraw.ImageDraw, xy: tuple[int, int], label: str, f, width: int) -> None:
    """A label justified over `width` pixels, the way forms print "名        称"."""
    x, y = xy
    if len(label) == 1:
        draw.text((x, y), label, font=f, fill=INK)
        return
    glyph = f.getlength(label[0])
    gap = (width - glyph * len(label)) / (len(label) - 1)
    for i, ch in enumerate(label):
        draw.text((x + i * (glyph + gap), y), ch, font=f, fill=INK)


def wrap(text: str, f, width: float) -> list[str]:
    """Break `text` into lines no wider than `width` (CJK: at any character)."""
    lines, current = [], ""
    for ch in text:
        if f.getlength(current + ch) > width and current:
            lines.append(current)
            current = ch
        else:
            current += ch
    if current:
        lines.append(current)
    return lines


def _qr_block(data: str, size: int) -> Image.Image:
    import segno

    matrix = [list(row) for row in segno.make(data, error="m").matrix]
    n = len(matrix) + 8
    cell = max(1, size // n)
    img = Image.new("RGB", (n * cell, n * cell), "white")
    draw = ImageDraw.Draw(img)
    for r, row in enumerate(matrix):
        for c, bit in enumerate(row):
            if bit:
                x, y = (c + 4) * cell, (r + 4) * cell
                draw.rectangle((x, y, x + cell - 1, y + cell - 1), fill="black")
    return img.resize((size, size), Image.Resampling.NEAREST)


def seal_layer(size: int, text: str, colour: tuple[int, int, int] = RED, seed: int = 1) -> Image.Image:
    """A round official seal (ring, star, name along the arc) as an RGBA image, slightly uneven ink."""
    rnd = np.random.default_rng(seed)
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    c = size / 2
    ring = max(3, size // 40)
    draw.ellipse((ring, ring, size - ring, size - ring), outline=(*colour, 230), width=ring)
    star_r = size * 0.16
    points = []
    for i in range(10):
        r = star_r if i % 2 == 0 else star_r * 0.4
        a = -math.pi / 2 + i * math.pi / 5
        points.append((c + r * math.cos(a), c + r * math.sin(a)))
    draw.polygon(points, fill=(*colour, 230))
    f = font(int(size * 0.13))
    n = len(text)
    span = math.radians(250)
    radius = size / 2 - ring * 2 - size * 0.09
    for i, ch in enumerate(text):
        angle = -math.pi / 2 - span / 2 + span * (i + 0.5) / n
        glyph = Image.new("RGBA", (int(size * 0.16),) * 2, (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text(
            (glyph.width / 2, glyph.height / 2), ch, font=f, fill=(*colour, 230), anchor="mm"
        )
        glyph = glyph.rotate(-math.degrees(angle) - 90, resample=Image.Resampling.BICUBIC)
        x = c + radius * math.cos(angle) - glyph.width / 2
        y = c + radius * math.sin(angle) - glyph.height / 2
        layer.alpha_composite(glyph, (int(x), int(y)))
    # Uneven ink: thin the alpha at random.
    alpha = np.asarray(layer.getchannel("A"), dtype=np.float32)
    alpha *= rnd.uniform(0.55, 1.0, alpha.shape).astype(np.float32)
    layer.putalpha(Image.fromarray(alpha.astype(np.uint8)))
    return layer


def stamp(img: Image.Image, layer: Image.Image, centre: tuple[int, int]) -> Image.Image:
    """Press an RGBA layer onto a page (multiply-like: the ink darkens, never lightens, the text)."""
    page = img.convert("RGB")
    x0, y0 = centre[0] - layer.width // 2, centre[1] - layer.height // 2
    box = (max(0, x0), max(0, y0), min(page.width, x0 + layer.width), min(page.height, y0 + layer.height))
    if box[0] >= box[2] or box[1] >= box[3]:
        return page
    ink = np.asarray(layer.crop((box[0] - x0, box[1] - y0, box[2] - x0, box[3] - y0)), dtype=np.float32)
    base = np.asarray(page.crop(box), dtype=np.float32)
    a = ink[..., 3:4] / 255.0
    tinted = base * (1 - a) + (base * ink[..., :3] / 255.0) * a
    page.paste(Image.fromarray(np.clip(tinted, 0, 255).astype(np.uint8)), box[:2])
    return page


def watermark(img: Image.Image, text: str, alpha: int = 38, angle: float = 30, size: int = 48) -> Image.Image:
    """A faint diagonal text repeated over the page."""
    w, h = img.size
    side = int(math.hypot(w, h)) + 2
    big = Image.new("LA", (side, side), (0, 0))
    draw = ImageDraw.Draw(big)
    f = font(size)
    step_x, step_y = int(f.getlength(text)) + 160, size * 5
    for row, y in enumerate(range(0, side, step_y)):
        for x in range(-(row % 2) * step_x // 2, side, step_x):
            draw.text((x, y), text, font=f, fill=(120, alpha))
    big = big.rotate(angle, resample=Image.Resampling.BILINEAR)
    left, top = (side - w) // 2, (side - h) // 2
    mask = big.getchannel("A").crop((left, top, left + w, top + h))
    page = img.convert("RGB")
    page.paste((120, 120, 140), (0, 0, w, h), mask)
    return page


def _paper(size: tuple[int, int], tint: tuple[int, int, int] = (252, 251, 247), seed: int = 0) -> Image.Image:
    """Off-white paper with a faint grain."""
    rng = np.random.default_rng(seed)
    base = np.ones((size[1], size[0], 3), dtype=np.float32) * np.array(tint, dtype=np.float32)
    base += rng.normal(0, 2.0, (size[1], size[0], 1)).astype(np.float32)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))


# --- business licence (2019 national format) ---------------------------------------------------------

LICENCE_SCOPE = (
    "一般经营项目是：计算机软硬件及外围设备的技术开发、技术咨询、技术服务；信息系统集成服务；"
    "数据处理和存储支持服务；货物及技术进出口。许可经营项目是：第二类增值电信业务。"
)
LICENCE_SCOPE_LONG = (
    "一般经营项目是：计算机软硬件及外围设备的技术开发、技术咨询、技术服务、技术转让；信息系统集成服务；"
    "数据处理和存储支持服务；人工智能应用软件开发；网络与信息安全软件开发；工业设计服务；"
    "会议及展览服务；企业管理咨询；市场营销策划；广告设计、代理；日用百货、电子产品、"
    "通讯设备的销售；货物及技术进出口。（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）"
    "许可经营项目是：第二类增值电信业务；互联网信息服务。"
)
LICENCE_ADDRESS = "深圳市前海深港合作区南山街道桂湾五路128号前海深港基金小镇对冲基金中心407"
LICENCE_AUTHORITY = "深圳市市场监督管理局"


def business_licence(
    *, legal_representative: str = "张三丰", scope: str = LICENCE_SCOPE, name: str = "business_licence"
) -> DocSpecimen:
    """A 副本 of the 2019-format licence, landscape A4 at 150 dpi."""
    w, h = 1754, 1240
    img = _paper((w, h), seed=11)
    draw = ImageDraw.Draw(img)
    frame = (168, 120, 60)
    draw.rectangle((34, 34, w - 34, h - 34), outline=frame, width=10)
    draw.rectangle((54, 54, w - 54, h - 54), outline=frame, width=2)
    small, body, label_f = font(22), font(30), font(30)
    lines: list[str] = []

    draw.text((110, 100), "统一社会信用代码", font=font(26), fill=INK)
    draw.text((110, 138), LICENCE_USCC, font=font(32), fill=INK)
    lines += ["统一社会信用代码", LICENCE_USCC]
    draw.text((110, 190), "（1/1）", font=small, fill=INK)

    title = "营业执照"
    tf = font(104)
    tx = w // 2 - 320
    for i, ch in enumerate(title):
        draw.text((tx + i * 170, 96), ch, font=tf, fill=INK)
    draw.text((w // 2 - 60, 232), "（副本）", font=font(34), fill=INK)
    lines += [title, "（副本）"]

    qr = _qr_block(f"http://www.gsxt.gov.cn/index.html?uniscid={LICENCE_USCC}", 150)
    img.paste(qr, (w - 260, 84))
    for i, part in enumerate(("扫描二维码登录", "国家企业信用信息", "公示系统了解更多")):
        draw.text((w - 470, 110 + i * 32), part, font=small, fill=INK)
        lines.append(part)
    draw.text((w - 470, 230), "编号：S2712021051234", font=small, fill=INK)
    lines.append("编号：S2712021051234")

    label_w = 150
    left_x, left_v, left_end = 130, 310, 860
    right_x, right_v, right_end = 920, 1100, w - 110
    row_gap, line_h = 74, 42

    def column(x: int, vx: int, end: int, rows: list[tuple[str, str]], top: int) -> list[str]:
        out, y = [], top
        for label, value in rows:
            _spaced_label(draw, (x, y), label, label_f, label_w)
            parts = wrap(value, body, end - vx) if value else [""]
            for k, part in enumerate(parts):
                draw.text((vx, y + k * line_h), part, font=body, fill=INK)
            out.append(label + parts[0])
            out.extend(parts[1:])
            y += row_gap + (len(parts) - 1) * line_h
        return out

    top = 330
    lines += column(
        left_x,
        left_v,
        left_end,
        [
            ("名称", COMPANY),
            ("类型", "有限责任公司（自然人投资或控股）"),
            ("法定代表人", legal_representative),
            ("经营范围", scope),
        ],
        top,
    )
    lines += column(
        right_x,
        right_v,
        right_end,
        [
            ("注册资本", "人民币壹佰万元整"),
            ("成立日期", "2021年05月06日"),
            ("营业期限", "2021年05月06日至长期"),
            ("住所", LICENCE_ADDRESS),
        ],
        top,
    )
    draw.text((1020, 1010), "登记机关", font=body, fill=INK)
    draw.text((1130, 1080), "2021 年 05 月 06 日", font=body, fill=INK)
    lines += ["登记机关", "2021年05月06日"]
    footer = (
        "国家企业信用信息公示系统网址：http://www.gsxt.gov.cn",
        "市场主体应当于每年1月1日至6月30日通过国家企业信用信息公示系统报送公示年度报告。",
    )
    for i, text in enumerate(footer):
        fw = small.getlength(text)
        draw.text(((w - fw) / 2, 1140 + i * 30), text, font=small, fill=INK)
        lines.append(text)
    img = stamp(img, seal_layer(230, LICENCE_AUTHORITY, seed=5), (1270, 1040))
    img = watermark(img, "仅限办理业务使用", alpha=22, size=56)
    return DocSpecimen(
        name,
        "document",
        "business_licence",
        "business_licence",
        img,
        tuple(lines),
        {
            "uscc": LICENCE_USCC,
            "enterprise_name": COMPANY,
            "legal_representative": legal_representative,
            "registered_capital": "人民币壹佰万元整",
            "established_date": "2021-05-06",
            "business_term": "2021-05-06至长期",
            "address": LICENCE_ADDRESS,
            "business_scope": scope,
            "issuing_authority": LICENCE_AUTHORITY,
        },
        lenient=frozenset({"issuing_authority"}),
        applicant=ENTERPRISE_APPLICANT,
        slot=(TECH_ITEM, "business_licence"),
    )


def business_licence_blank_representative() -> DocSpecimen:
    return business_licence(legal_representative="", name="business_licence_blank_rep")


def business_licence_long_scope() -> DocSpecimen:
    return business_licence(scope=LICENCE_SCOPE_LONG, name="business_licence_long_scope")


# --- resident ID card --------------------------------------------------------------------------------

CARD = (1012, 638)  # 85.6 x 54 mm at 300 dpi
ID_ADDRESS = "广东省深圳市福田区福中三路市民中心B区2号"
ID_AUTHORITY = "深圳市公安局福田分局"


def _card_base(seed: int) -> Image.Image:
    """The card's pale printed background: a soft gradient and guilloche-like waves."""
    w, h = CARD
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 238 + 6 * np.sin(x / 90.0) * np.cos(y / 70.0)
    g = 240 + 5 * np.cos(x / 120.0)
    b = 244 + 4 * np.sin((x + y) / 150.0)
    base = np.stack([r, g, b], axis=-1)
    card = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(card)
    rnd = random.Random(seed)
    for k in range(18):
        pts = [
            (i * 20, h / 2 + 120 * math.sin(i / 9.0 + k / 3.0) + rnd.uniform(-2, 2))
            for i in range(0, w // 20 + 2)
        ]
        draw.line(pts, fill=(226, 231, 238), width=1)
    mask = Image.new("L", CARD, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, w - 1, h - 1), radius=36, fill=255)
    out = Image.new("RGB", CARD, (255, 255, 255))
    out.paste(card, (0, 0), mask)
    return out


def id_card_front_image() -> tuple[Image.Image, tuple[str, ...]]:
    card = _card_base(2)
    draw = ImageDraw.Draw(card)
    grey = (70, 110, 160)
    lab, val = font(28), font(34)

    def label(x: int, y: int, text: str) -> None:
        _spaced_label_colour(draw, (x, y), text, lab, 70 if len(text) == 2 else lab.getlength(text), grey)

    label(60, 64, "姓名")
    draw.text((170, 58), PERSON_NAME, font=val, fill=INK)
    label(60, 136, "性别")
    draw.text((170, 130), "女", font=val, fill=INK)
    label(290, 136, "民族")
    draw.text((400, 130), "汉", font=val, fill=INK)
    label(60, 208, "出生")
    for x, part in ((170, "1990"), (270, "年"), (320, "1"), (360, "月"), (410, "2"), (450, "日")):
        draw.text((x, 202), part, font=val, fill=INK)
    label(60, 280, "住址")
    addr = wrap(ID_ADDRESS, val, 430)
    for i, part in enumerate(addr):
        draw.text((170, 274 + i * 46), part, font=val, fill=INK)
    label(60, 520, "公民身份号码")
    draw.text((330, 512), PERSON_ID, font=font(40), fill=INK)
    # Photo: a plain silhouette, no face.
    draw.rectangle((680, 90, 940, 420), fill=(222, 228, 236))
    draw.ellipse((750, 140, 870, 280), fill=(196, 204, 216))
    draw.pieslice((705, 280, 915, 500), 180, 360, fill=(196, 204, 216))
    lines = (
        f"姓名{PERSON_NAME}",
        "性别女民族汉",
        "出生1990年1月2日",
        f"住址{addr[0]}",
        *addr[1:],
        f"公民身份号码{PERSON_ID}",
    )
    return card, lines


def _spaced_label_colour(draw, xy, label, f, width, colour) -> None:
    x, y = xy
    glyph = f.getlength(label[0])
    gap = (width - glyph * len(label)) / max(1, len(label) - 1)
    for i, ch in enumerate(label):
        draw.text((x + i * (glyph + max(gap, 0)), y), ch, font=f, fill=colour)


def id_card_back_image() -> tuple[Image.Image, tuple[str, ...]]:
    card = _card_base(3)
    draw = ImageDraw.Draw(card)
    # National emblem placeholder: a red disc with gold stars (no real emblem).
    draw.ellipse((70, 50, 230, 210), fill=(200, 40, 40))
    for cx, cy, r in ((150, 120, 30), (110, 90, 10), (190, 90, 10), (110, 150, 10), (190, 150, 10)):
        draw.regular_polygon((cx, cy, r), 5, fill=(240, 200, 60))
    draw.text((300, 70), "中华人民共和国", font=font(56), fill=INK)
    big = font(76)
    for i, ch in enumerate("居民身份证"):
        draw.text((300 + i * 110, 170), ch, font=big, fill=INK)
    grey = (70, 110, 160)
    lab, val = font(28), font(32)
    draw.text((200, 420), "签发机关", font=lab, fill=grey)
    draw.text((350, 414), ID_AUTHORITY, font=val, fill=INK)
    draw.text((200, 500), "有效期限", font=lab, fill=grey)
    draw.text((350, 494), "2016.05.06-2036.05.06", font=val, fill=INK)
    lines = ("中华人民共和国", "居民身份证", f"签发机关{ID_AUTHORITY}", "有效期限2016.05.06-2036.05.06")
    return card, lines


ID_FRONT_FIELDS = {
    "person_name": PERSON_NAME,
    "sex": "女",
    "ethnicity": "汉",
    "birth_date": "1990-01-02",
    "address": ID_ADDRESS,
    "id_number": PERSON_ID,
}
ID_BACK_FIELDS = {
    "issuing_authority": ID_AUTHORITY,
    "validity": "2016-05-06至2036-05-06",
    "valid_from": "2016-05-06",
    "valid_until": "2036-05-06",
}


def on_table(
    card: Image.Image, seed: int, scene: tuple[int, int] = (1400, 1000), tilt: float = 2.5
) -> Image.Image:
    """The card photographed on a wooden table: shadow, a small tilt, uneven light."""
    rng = np.random.default_rng(seed)
    w, h = scene
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    grain = 12 * np.sin(x / 7.0 + 3 * np.sin(y / 60.0)) + rng.normal(0, 4, (h, w))
    table = np.stack([150 + grain, 110 + grain * 0.8, 75 + grain * 0.6], axis=-1)
    bg = Image.fromarray(np.clip(table, 0, 255).astype(np.uint8))
    mask = Image.new("L", card.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, card.width - 1, card.height - 1), radius=36, fill=255)
    rgba = card.convert("RGBA")
    rgba.putalpha(mask)
    rgba = rgba.rotate(tilt, resample=Image.Resampling.BICUBIC, expand=True)
    shadow = Image.new("RGBA", rgba.size, (0, 0, 0, 0))
    shadow.putalpha(rgba.getchannel("A").point(lambda a: a * 0.45))
    shadow = shadow.filter(ImageFilter.GaussianBlur(12))
    ox, oy = (w - rgba.width) // 2, (h - rgba.height) // 2
    out = bg.convert("RGBA")
    out.alpha_composite(shadow, (ox + 14, oy + 18))
    out.alpha_composite(rgba, (ox, oy))
    return _light(out.convert("RGB"), seed)


def _light(img: Image.Image, seed: int, strength: float = 0.25, sigma: float = 3.0) -> Image.Image:
    """Vignetting and sensor noise."""
    rng = np.random.default_rng(seed)
    w, h = img.size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.sqrt(((x - w / 2) / (w / 2)) ** 2 + ((y - h / 2) / (h / 2)) ** 2) / math.sqrt(2)
    gain = 1 - strength * d**2
    pixels = np.asarray(img, dtype=np.float32) * gain[..., None] + rng.normal(0, sigma, (h, w, 1))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def id_card_front() -> DocSpecimen:
    card, lines = id_card_front_image()
    return DocSpecimen(
        "id_card_front",
        "document",
        "resident_id_card",
        "resident_id_card",
        on_table(card, 21),
        lines,
        dict(ID_FRONT_FIELDS),
        applicant=PERSON_APPLICANT,
        slot=("refined-oil-retail-qualification", "legal_representative_id"),
    )


def id_card_back() -> DocSpecimen:
    card, lines = id_card_back_image()
    return DocSpecimen(
        "id_card_back",
        "document",
        "resident_id_card",
        "resident_id_card",
        on_table(card, 22, tilt=-2.0),
        lines,
        dict(ID_BACK_FIELDS),
        applicant=PERSON_APPLICANT,
        slot=("refined-oil-retail-qualification", "legal_representative_id"),
    )


def id_card_both_sides() -> DocSpecimen:
    """Front above back on one A4 page, as a photocopy (身份证正反面复印件)."""
    page = _paper((1240, 1754), (255, 255, 255), seed=4)
    front, front_lines = id_card_front_image()
    back, back_lines = id_card_back_image()
    page.paste(front, (114, 220))
    page.paste(back, (114, 980))
    page = page.convert("L").convert("RGB")  # a black-and-white copy
    return DocSpecimen(
        "id_card_both_sides",
        "document",
        "resident_id_card",
        "resident_id_card",
        page,
        front_lines + back_lines,
        {**ID_FRONT_FIELDS, **ID_BACK_FIELDS},
        applicant=PERSON_APPLICANT,
        slot=("refined-oil-retail-qualification", "legal_representative_id"),
    )


# --- forms and contracts -----------------------------------------------------------------------------

APPLICANT_ADDRESS = "深圳市南山区粤海街道科技园路1号A栋501室"


def _a4(seed: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = _paper((1240, 1754), seed=seed)
    return img, ImageDraw.Draw(img)


def _title(draw: ImageDraw.ImageDraw, text: str, y: int, size: int = 54, width: int = 1240) -> None:
    f = font(size)
    draw.text(((width - f.getlength(text)) / 2, y), text, font=f, fill=INK)


def _paragraphs(
    draw, paragraphs: list[str], y: int, f, x: int = 120, right: int = 1120, gap: int = 18
) -> tuple[list[str], int]:
    out = []
    for text in paragraphs:
        for part in wrap(text, f, right - x):
            draw.text((x, y), part, font=f, fill=INK)
            out.append(part)
            y += int(f.size * 1.5)
        y += gap
    return out, y


def application_form() -> DocSpecimen:
    img, draw = _a4(31)
    title = "技术进出口合同登记申请书"
    _title(draw, title, 140)
    rows = [
        ("申请单位名称", COMPANY),
        ("统一社会信用代码", LICENCE_USCC),
        ("法定代表人", "张三丰"),
        ("联系人", "王小明"),
        ("联系电话", "13800138000"),
        ("地址", APPLICANT_ADDRESS),
        ("申请事项", "技术进出口合同登记"),
    ]
    f = font(32)
    top, row_h, split = 300, 100, 440
    draw.rectangle((100, top, 1140, top + row_h * len(rows)), outline=INK, width=3)
    draw.line((split, top, split, top + row_h * len(rows)), fill=INK, width=2)
    lines = [title]
    for i, (label, value) in enumerate(rows):
        y = top + i * row_h
        if i:
            draw.line((100, y, 1140, y), fill=INK, width=2)
        draw.text((125, y + 33), label, font=f, fill=INK)
        draw.text((split + 25, y + 33), value, font=f, fill=INK)
        lines.append(label + value)
    y = top + row_h * len(rows) + 60
    para, y = _paragraphs(
        draw, ["申请人承诺：所提交材料真实、合法、有效，如有虚假，愿承担相应法律责任。"], y, font(30)
    )
    lines += para
    draw.text((640, y + 120), "申请人（签字盖章）：", font=f, fill=INK)
    draw.text((640, y + 200), "日期：2024年05月06日", font=f, fill=INK)
    lines += ["申请人（签字盖章）：", "日期：2024年05月06日"]
    img = stamp(img, seal_layer(220, COMPANY[:10] + "有限公司", seed=8), (900, y + 150))
    return DocSpecimen(
        "application_form",
        "document",
        "application_form",
        "application_form",
        img,
        tuple(lines),
        {
            "applicant_name": COMPANY,
            "uscc": LICENCE_USCC,
            "legal_representative": "张三丰",
            "contact_phone": "13800138000",
            "address": APPLICANT_ADDRESS,
        },
        applicant=ENTERPRISE_APPLICANT,
        slot=(TECH_ITEM, "application"),
    )


LESSOR = "深圳市福田区安居物业管理有限公司"


def lease_contract() -> DocSpecimen:
    img, draw = _a4(41)
    title = "房屋租赁合同"
    _title(draw, title, 130, 60)
    f = font(30)
    lines = [title]
    para, y = _paragraphs(
        draw,
        [
            f"出租方（甲方）：{LESSOR}",
            f"承租方（乙方）：{COMPANY}",
            "根据《中华人民共和国民法典》及有关法律法规的规定，甲乙双方在平等、自愿、协商一致的基础上，"
            "就乙方承租甲方房屋一事，订立本合同。",
            f"第一条 房屋坐落：{APPLICANT_ADDRESS}，建筑面积120平方米，用途为办公。",
            "第二条 租赁期限：自2024年01月01日起至2028年12月31日止。",
            "第三条 租金：每月人民币壹万贰仟元整（¥12,000.00），按季度支付。",
            "第四条 押金：人民币贰万肆仟元整，合同期满乙方无违约的，甲方无息退还。",
            "第五条 本合同一式两份，甲乙双方各执一份，自双方签字盖章之日起生效。",
        ],
        270,
        f,
    )
    lines += para
    y += 80
    draw.text((120, y), "甲方（盖章）：", font=f, fill=INK)
    draw.text((680, y), "乙方（盖章）：", font=f, fill=INK)
    draw.text((120, y + 80), "签订日期：2023年12月20日", font=f, fill=INK)
    draw.text((680, y + 80), "签订日期：2023年12月20日", font=f, fill=INK)
    lines += ["甲方（盖章）：乙方（盖章）：", "签订日期：2023年12月20日签订日期：2023年12月20日"]
    img = stamp(img, seal_layer(200, LESSOR, seed=9), (300, y + 20))
    return DocSpecimen(
        "lease_contract",
        "document",
        "site_certificate",
        "site_certificate",
        img,
        tuple(lines),
        {
            "lessor": LESSOR,
            "lessee": COMPANY,
            "address": APPLICANT_ADDRESS,
            "lease_term": "2024-01-01至2028-12-31",
        },
        applicant=ENTERPRISE_APPLICANT,
        slot=("refined-oil-retail-qualification", "site_lease"),
    )


LICENSOR = "Northwind Technology GmbH"
TECH_CONTRACT_NO = "2024SZ-TI-000518"


def technology_contract() -> DocSpecimen:
    img, draw = _a4(51)
    title = "技术进出口合同"
    _title(draw, title, 130, 60)
    f = font(30)
    draw.text((760, 230), f"合同编号：{TECH_CONTRACT_NO}", font=font(26), fill=INK)
    lines = [title, f"合同编号：{TECH_CONTRACT_NO}"]
    para, y = _paragraphs(
        draw,
        [
            f"甲方（引进方）：{COMPANY}",
            f"乙方（出让方）：{LICENSOR}",
            "签订日期：2024年05月18日",
            "签订地点：中国深圳",
            "甲乙双方根据《中华人民共和国民法典》和《中华人民共和国技术进出口管理条例》的规定，"
            "经友好协商，就乙方向甲方许可使用工业视觉检测软件专利及转让相关技术秘密事宜，订立本合同。",
            "第一条 合同标的：工业视觉检测软件的专利实施许可及技术秘密转让。",
            "第二条 合同金额：人民币捌拾万元整（¥800,000.00）。",
            "第三条 有效期：自合同生效之日起三年。",
            "第四条 本合同经双方签字盖章并依法办理登记后生效。",
        ],
        300,
        f,
    )
    lines += para
    y += 80
    draw.text((120, y), "甲方（盖章）：", font=f, fill=INK)
    draw.text((680, y), "乙方（签字）：", font=f, fill=INK)
    lines.append("甲方（盖章）：乙方（签字）：")
    img = stamp(img, seal_layer(200, COMPANY[:10] + "有限公司", seed=10), (330, y + 20))
    return DocSpecimen(
        "technology_contract",
        "document",
        "technology_contract",
        "technology_contract",
        img,
        tuple(lines),
        {
            "contract_number": TECH_CONTRACT_NO,
            "party_a": COMPANY,
            "party_b": LICENSOR,
            "signing_date": "2024-05-18",
            "contract_amount": "人民币捌拾万元整",
        },
        applicant=ENTERPRISE_APPLICANT,
        slot=(TECH_ITEM, "contract"),
    )


WORKER = "陈建国"


def labour_contract() -> DocSpecimen:
    img, draw = _a4(61)
    title = "劳务合同"
    _title(draw, title, 130, 60)
    f = font(30)
    lines = [title]
    para, y = _paragraphs(
        draw,
        [
            f"甲方（用工单位）：{COMPANY}",
            f"乙方（劳务人员）：{WORKER}",
            f"身份证号码：{WORKER_ID}",
            "根据《中华人民共和国民法典》的有关规定，甲乙双方本着平等自愿的原则，就乙方为甲方提供劳务一事"
            "达成如下协议：",
            "第一条 合同期限：自2024年06月01日起至2025年05月31日止。",
            "第二条 劳务内容：乙方在甲方指定地点从事设备安装与调试工作。",
            "第三条 劳务报酬：每月人民币捌仟元整，于次月十日前支付。",
            "第四条 本合同一式两份，双方各执一份，自双方签字之日起生效。",
        ],
        280,
        f,
    )
    lines += para
    y += 80
    draw.text((120, y), "甲方（盖章）：", font=f, fill=INK)
    draw.text((680, y), "乙方（签字）：", font=f, fill=INK)
    draw.text((120, y + 80), "签订日期：2024年05月20日", font=f, fill=INK)
    lines += ["甲方（盖章）：乙方（签字）：", "签订日期：2024年05月20日"]
    return DocSpecimen(
        "labour_contract",
        "document",
        "labour_contract",
        "labour_contract",
        img,
        tuple(lines),
        {
            "party_a": COMPANY,
            "party_b": WORKER,
            "id_number": WORKER_ID,
            "contract_term": "2024-06-01至2025-05-31",
            "signing_date": "2024-05-20",
        },
        applicant=ENTERPRISE_APPLICANT,
        slot=("foreign-labour-cooperation-qualification", "manager_experience"),
    )


# --- unrelated documents -----------------------------------------------------------------------------


def receipt() -> DocSpecimen:
    """A supermarket till receipt, photographed: narrow, centred, thermal-grey text."""
    w, h = 560, 1200
    img = _paper((w, h), (246, 245, 240), seed=71)
    draw = ImageDraw.Draw(img)
    f, big = font(24), font(32)
    grey = (60, 60, 66)
    rows = [
        ("c", "华润万家（科技园店）", big),
        ("c", "购物小票", f),
        ("l", "单号：0031202405061532", f),
        ("l", "收银员：018  2024-05-06 15:32", f),
        ("l", "--------------------------------", f),
        ("l", "商品名称        数量   金额", f),
        ("l", "农夫山泉550ml     2     4.00", f),
        ("l", "康师傅红烧牛肉面  1     4.50", f),
        ("l", "维达抽纸三包装    1    15.90", f),
        ("l", "金龙鱼大米5kg     1    39.90", f),
        ("l", "--------------------------------", f),
        ("l", "合计：             5    64.30", f),
        ("l", "实收：微信支付         64.30", f),
        ("l", "找零：                  0.00", f),
        ("c", "谢谢惠顾，欢迎再次光临", f),
        ("c", "服务热线：400-800-1234", f),
    ]
    y, lines = 60, []
    for align, text, ff in rows:
        x = (w - ff.getlength(text)) / 2 if align == "c" else 40
        draw.text((x, y), text, font=ff, fill=grey)
        if not text.startswith("---"):
            lines.append(text)
        y += int(ff.size * 1.9)
    photo = _on_surface(img, seed=72, scene=(900, 1400), tilt=-3)
    return DocSpecimen("receipt", "unrelated", None, "business_licence", photo, tuple(lines))


def lab_report() -> DocSpecimen:
    img, draw = _a4(81)
    _title(draw, "深圳市人民医院检验报告单", 110, 50)
    f = font(28)
    lines = ["深圳市人民医院检验报告单"]
    head = ["姓名：王小明  性别：男  年龄：35岁", "科室：内科门诊  标本：静脉血  样本号：20240506-118"]
    for i, text in enumerate(head):
        draw.text((110, 220 + i * 50), text, font=f, fill=INK)
        lines.append(text)
    draw.line((100, 330, 1140, 330), fill=INK, width=3)
    cols = (110, 420, 620, 860)
    header = ("项目", "结果", "单位", "参考范围")
    for x, t in zip(cols, header, strict=True):
        draw.text((x, 345), t, font=f, fill=INK)
    lines.append("".join(header))
    draw.line((100, 395, 1140, 395), fill=INK, width=2)
    data = [
        ("白细胞计数", "6.52", "10^9/L", "3.50-9.50"),
        ("红细胞计数", "4.86", "10^12/L", "4.30-5.80"),
        ("血红蛋白", "148", "g/L", "130-175"),
        ("血小板计数", "231", "10^9/L", "125-350"),
        ("中性粒细胞百分比", "58.3", "%", "40.0-75.0"),
        ("淋巴细胞百分比", "32.1", "%", "20.0-50.0"),
    ]
    for r, row in enumerate(data):
        for x, t in zip(cols, row, strict=True):
            draw.text((x, 415 + r * 56), t, font=f, fill=INK)
        lines.append("".join(row))
    y = 415 + len(data) * 56 + 40
    draw.line((100, y, 1140, y), fill=INK, width=3)
    tail = "检验者：李华  审核者：赵敏  报告日期：2024-05-06"
    draw.text((110, y + 30), tail, font=f, fill=INK)
    lines.append(tail)
    return DocSpecimen("lab_report", "unrelated", "lab_report", "business_licence", img, tuple(lines))


# --- non-documents -----------------------------------------------------------------------------------


def street_photo() -> DocSpecimen:
    """A street corner: sky gradient, buildings, windows, a road, a shop sign with a few words."""
    w, h = 1600, 1200
    rng = np.random.default_rng(91)
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    sky = np.stack([120 + 90 * y, 170 + 60 * y, 230 + 10 * y], axis=-1) * np.ones((1, w, 1), dtype=np.float32)
    img = Image.fromarray(np.clip(sky, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    rnd = random.Random(91)
    x = 0
    while x < w:
        bw, bh = rnd.randrange(180, 360), rnd.randrange(420, 900)
        colour = tuple(rnd.randrange(120, 210) for _ in range(3))
        draw.rectangle((x, h - 260 - bh, x + bw, h - 260), fill=colour)
        for wx in range(x + 20, x + bw - 30, 50):
            for wy in range(h - 240 - bh, h - 320, 70):
                draw.rectangle(
                    (wx, wy, wx + 28, wy + 40), fill=(90, 110, 140) if rnd.random() < 0.7 else (240, 220, 150)
                )
        x += bw + rnd.randrange(0, 30)
    draw.rectangle((0, h - 260, w, h), fill=(80, 80, 86))
    for lx in range(0, w, 200):
        draw.rectangle((lx + 40, h - 140, lx + 140, h - 128), fill=(230, 230, 230))
    # A tree and a car.
    draw.rectangle((1340, 700, 1370, 950), fill=(90, 60, 40))
    draw.ellipse((1250, 540, 1460, 760), fill=(60, 130, 60))
    draw.rounded_rectangle((300, 960, 620, 1080), radius=30, fill=(180, 30, 40))
    draw.ellipse((340, 1050, 410, 1120), fill=(20, 20, 20))
    draw.ellipse((510, 1050, 580, 1120), fill=(20, 20, 20))
    # The shop sign.
    draw.rectangle((560, 760, 1080, 860), fill=(190, 20, 30))
    sign = "老王面馆 24小时"
    f = font(64)
    draw.text((820 - f.getlength(sign) / 2, 774), sign, font=f, fill=(255, 240, 200))
    noisy = np.asarray(img.filter(ImageFilter.GaussianBlur(1.2)), dtype=np.float32) + rng.normal(
        0, 4, (h, w, 1)
    )
    img = _light(Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)), 92, strength=0.35)
    return DocSpecimen("street_photo", "non_document", None, "other", img, (sign,))


def product_card() -> DocSpecimen:
    """An online-shop product card: a product shot (a bottle), a name, a price."""
    w, h = 900, 1200
    img = Image.new("RGB", (w, h), (250, 250, 250))
    draw = ImageDraw.Draw(img)
    for i in range(700):
        shade = int(235 - 30 * i / 700)
        draw.line((0, i, w, i), fill=(shade, shade + 5, shade + 12))
    draw.rounded_rectangle((360, 120, 540, 600), radius=40, fill=(60, 140, 80))
    draw.rectangle((410, 70, 490, 130), fill=(230, 230, 230))
    draw.rectangle((370, 300, 530, 420), fill=(240, 240, 220))
    draw.ellipse((400, 320, 500, 400), fill=(90, 170, 100))
    name, price = "有机绿茶 500ml", "￥5.90"
    draw.text((80, 760), name, font=font(54), fill=INK)
    draw.text((80, 860), price, font=font(72), fill=(220, 40, 40))
    draw.rounded_rectangle((560, 870, 820, 950), radius=20, fill=(250, 120, 30))
    draw.text((600, 885), "加入购物车", font=font(40), fill="white")
    return DocSpecimen("product_card", "non_document", None, "other", img, (name, price, "加入购物车"))


def single_text_line() -> DocSpecimen:
    """One line of text on a plain strip (a caption, a banner)."""
    img = Image.new("RGB", (1400, 160), (255, 255, 255))
    text = "欢迎光临本店，全场商品八折优惠"
    ImageDraw.Draw(img).text((60, 40), text, font=font(64), fill=INK)
    return DocSpecimen("single_text_line", "non_document", None, "other", img, (text,))


# --- several documents in one picture ----------------------------------------------------------------


def collage() -> DocSpecimen:
    """Three documents photographed side by side on a dark desk."""
    docs = [business_licence(), application_form(), lease_contract()]
    pages = []
    for doc, tilt in zip(docs, (-2.0, 1.5, -1.0), strict=True):
        page = doc.image
        factor = 1150 / max(page.size)
        page = page.resize((int(page.width * factor), int(page.height * factor)), Image.Resampling.LANCZOS)
        pages.append(page.convert("RGBA").rotate(tilt, resample=Image.Resampling.BICUBIC, expand=True))
    w, h = sum(p.width for p in pages) + 30 * (len(pages) + 1), 1300
    rng = np.random.default_rng(101)
    desk = np.ones((h, w, 3), dtype=np.float32) * np.array([45, 42, 40], dtype=np.float32)
    desk += rng.normal(0, 5, (h, w, 1))
    canvas = Image.fromarray(np.clip(desk, 0, 255).astype(np.uint8))
    lines: list[str] = []
    x = 30
    for doc, rgba in zip(docs, pages, strict=True):
        canvas.paste(rgba, (x, (h - rgba.height) // 2), rgba)
        x += rgba.width + 30
        lines.extend(doc.lines)
    return DocSpecimen(
        "collage",
        "collage",
        None,
        "application_form",
        _light(canvas, 102, strength=0.3),
        tuple(lines),
        applicant=ENTERPRISE_APPLICANT,
        slot=(TECH_ITEM, "application"),
    )


def _on_surface(page: Image.Image, seed: int, scene: tuple[int, int], tilt: float) -> Image.Image:
    """A page photographed on a grey desk."""
    rng = np.random.default_rng(seed)
    w, h = scene
    desk = np.ones((h, w, 3), dtype=np.float32) * np.array([110, 112, 118], dtype=np.float32)
    desk += rng.normal(0, 6, (h, w, 1))
    bg = Image.fromarray(np.clip(desk, 0, 255).astype(np.uint8))
    rgba = page.convert("RGBA").rotate(tilt, resample=Image.Resampling.BICUBIC, expand=True)
    bg.paste(rgba, ((w - rgba.width) // 2, (h - rgba.height) // 2), rgba)
    return _light(bg, seed)


# --- catalogue of specimens --------------------------------------------------------------------------

DOCUMENTS: dict[str, Callable[[], DocSpecimen]] = {
    "business_licence": business_licence,
    "business_licence_blank_rep": business_licence_blank_representative,
    "business_licence_long_scope": business_licence_long_scope,
    "id_card_front": id_card_front,
    "id_card_back": id_card_back,
    "id_card_both_sides": id_card_both_sides,
    "application_form": application_form,
    "lease_contract": lease_contract,
    "technology_contract": technology_contract,
    "labour_contract": labour_contract,
}
OTHERS: dict[str, Callable[[], DocSpecimen]] = {
    "street_photo": street_photo,
    "product_card": product_card,
    "single_text_line": single_text_line,
    "receipt": receipt,
    "lab_report": lab_report,
    "collage": collage,
}
ALL: dict[str, Callable[[], DocSpecimen]] = {**DOCUMENTS, **OTHERS}


# --- damage ------------------------------------------------------------------------------------------


def rotate(img: Image.Image, degrees: int) -> Image.Image:
    """Turn the page counter-clockwise by 90/180/270 (lossless)."""
    ops = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}
    return img.transpose(ops[degrees])


SKEW_DEG = 7.0  # counter-clockwise


def skew(img: Image.Image, degrees: float = SKEW_DEG) -> Image.Image:
    return img.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(255, 255, 255))


def blur(img: Image.Image, radius: float = 1.6) -> Image.Image:
    return img.filter(ImageFilter.GaussianBlur(radius))


def scale(img: Image.Image, factor: float = 0.5) -> Image.Image:
    return img.resize((int(img.width * factor), int(img.height * factor)), Image.Resampling.LANCZOS)


def perspective(img: Image.Image, seed: int = 5, strength: float = 0.08) -> Image.Image:
    """A page shot at an angle: the corners pulled in unevenly (OpenCV homography), grey outside."""
    import cv2

    rnd = random.Random(seed)
    w, h = img.size
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    d = lambda n: rnd.uniform(0.3, 1.0) * strength * n  # noqa: E731
    dst = np.array(
        [
            [d(w), d(h)],
            [w - d(w) * 0.4, d(h) * 0.3],
            [w - d(w) * 0.2, h - d(h) * 0.2],
            [d(w) * 0.6, h - d(h)],
        ],
        dtype=np.float32,
    )
    matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(
        np.asarray(img.convert("RGB")), matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=(128, 128, 128)
    )
    return Image.fromarray(warped)


def seal_and_watermark(img: Image.Image, seed: int = 6) -> Image.Image:
    """An extra red seal pressed over the upper text, and a darker diagonal watermark over all."""
    w, h = img.size
    size = int(min(w, h) * 0.28)
    out = stamp(img, seal_layer(size, "深圳市前海示例科技有限公司", seed=seed), (int(w * 0.32), int(h * 0.3)))
    return watermark(out, "复印无效 仅供审核", alpha=55, size=max(24, w // 28))


def phone_photo(img: Image.Image, seed: int = 7) -> Image.Image:
    """The page photographed: a desk around it, a slight tilt, vignetting, noise."""
    w, h = img.size
    return _on_surface(img, seed, (int(w * 1.25), int(h * 1.2)), tilt=1.5)


DAMAGES: dict[str, Callable[[Image.Image], Image.Image]] = {
    "clean": lambda img: img,
    "rot90": lambda img: rotate(img, 90),
    "rot180": lambda img: rotate(img, 180),
    "rot270": lambda img: rotate(img, 270),
    "skew": skew,
    "blur": blur,
    "jpeg30": lambda img: img,  # the damage is in the encoding
    "scale50": scale,
    "perspective": perspective,
    "seal_watermark": seal_and_watermark,
    "photo": phone_photo,
}
ROTATION = {"rot90": 90, "rot180": 180, "rot270": 270}  # counter-clockwise turn applied to the page


def encode(img: Image.Image, fmt: str = "png", quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    if fmt == "jpeg":
        img.convert("RGB").save(buffer, format="JPEG", quality=quality)
    else:
        img.save(buffer, format="PNG", compress_level=1)  # fast; the size does not matter here
    return buffer.getvalue()


def damage(img: Image.Image, condition: str) -> tuple[bytes, str]:
    """The upload bytes and file name of `img` under `condition` (a key of DAMAGES)."""
    damaged = DAMAGES[condition](img)
    if condition == "jpeg30":
        return encode(damaged, "jpeg", 30), "scan.jpg"
    if condition in ("photo", "perspective"):
        return encode(damaged, "jpeg", 85), "photo.jpg"
    return encode(damaged), "scan.png"
