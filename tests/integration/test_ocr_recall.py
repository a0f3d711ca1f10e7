"""OCR recall and false positives on a fixed, generated set of 64 clips: list terms drawn at
1080p in 24-96 px, in several colours and contrasts and positions, static or scrolling,
spaced, full-width or traditional, shown for 1 to 3 s; and 20 clean clips of ordinary text
(news tickers, product names, song lyrics). Prints the confusion table."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.services.screener import Screener, decision_record
from tests.integration.test_text_screening import LICENCE, text_screener
from tests.text_media import caption, text_clip

# (text, list it must hit): terms from the shipped lists inside ordinary sentences.
POSITIVE = [
    ("今晚线上赌场开户", "gambling"), ("澳门百家乐 真人荷官", "gambling"),
    ("六合彩 内部资料", "gambling"), ("注册送彩金 提款秒到", "gambling"),
    ("足球网赌 下注就送", "gambling"), ("北京赛车 pk10 计划", "gambling"),
    ("老虎机 在线玩", "gambling"), ("皇冠体育 赔率最高", "gambling"),
    ("传奇私服 新开一区", "game_cheats"), ("绝地求生 外挂 自瞄", "game_cheats"),
    ("一刀999 变态版", "game_cheats"), ("无限元宝 刷金币", "game_cheats"),
    ("游戏破解 无后座", "game_cheats"), ("私服发布网 每日更新", "game_cheats"),
    ("裸聊 一对一", "obscenity"), ("成人直播 今晚开播", "obscenity"),
    ("黄色网站 免费看", "obscenity"), ("高清枪版 抢先看", "rights_piracy"),
    ("vip免费看 全集免费", "rights_piracy"), ("百度网盘资源 加群看片", "rights_piracy"),
    ("刷单兼职 日赚千元", "social_order"), ("校园贷 网贷秒批", "social_order"),
    ("代开发票 办假证", "crime_incitement"), ("出售银行卡 跑分", "social_order"),
    ("DDoS攻击 流量攻击", "network_security"), ("社工库 查开房", "network_security"),
    ("勒索病毒 免杀", "network_security"), ("算命 改运 转运符", "superstition"),
    ("大师开光 灵符", "superstition"), ("法轮大法", "politics"),
    ("绝密 作战计划", "state_secrets"), ("宗教极端 圣战", "ethnic_religion"),
]  # fmt: skip
# Written the way evaders write them: spaced, full-width, traditional.
VARIANTS = [
    ("赌 场 开 户", "gambling"), ("網上賭場", "gambling"), ("百家樂", "gambling"),
    ("ＢＥＴ３６５ 官网", "gambling"), ("外-挂 免费", "game_cheats"), ("傳奇私服", "game_cheats"),
    ("澳門賭場", "gambling"), ("六 合 彩", "gambling"), ("線上賭場", "gambling"),
    ("私 服 外 挂", "game_cheats"), ("刷單兼職", "social_order"), ("裸 聊", "obscenity"),
]  # fmt: skip
CLEAN = [
    "今日新闻 全市气温回升", "明天多云转晴 东南风三级", "股市收盘 沪指微涨", "新品上市 限时八折",
    "华为手机 旗舰店", "可口可乐 清凉一夏", "月亮代表我的心", "我和我的祖国 一刻也不能分割",
    "春眠不觉晓 处处闻啼鸟", "欢迎收看 体育新闻", "高铁开通 出行更方便", "天气预报 北京晴",
    "Breaking News: markets rise", "Product launch 2026", "小米电视 超薄全面屏",
    "周末去爬山 风景很美", "电影赌场风云 今晚播出", "珍爱生命 远离赌博", "健康饮食 每天运动",
    "感谢收看 下期再见",
]  # fmt: skip
SIZES = [24, 32, 40, 48, 56, 64, 72, 96]
# (font colour, background, boxed): high and low contrast, light and dark scenes.
LOOKS = [
    ("white", "0x203040", None), ("yellow", "0x102030", None), ("black", "0xd0d0d0", None),
    ("red", "0xf0f0f0", None), ("white", "0x808080", "black@0.5"), ("0xc0c0c0", "0x404040", None),
    ("cyan", "0x301010", None), ("0x202020", "0x909090", None),
]  # fmt: skip
POSITIONS = [("100", "h*0.82"), ("(w-text_w)/2", "h*0.1"), ("w*0.45", "h*0.5"), ("60", "h*0.3")]


@dataclass(frozen=True)
class Case:
    name: str
    text: str
    expected: str | None  # the list it must hit; None: must not hit any
    size: int
    look: tuple[str, str, str | None]
    position: tuple[str, str]
    scrolling: bool
    shown_s: float


def cases() -> list[Case]:
    labelled = [(t, lst) for t, lst in POSITIVE + VARIANTS] + [(t, None) for t in CLEAN]
    out = []
    for i, (text, expected) in enumerate(labelled):
        out.append(
            Case(
                f"c{i:02d}",
                text,
                expected,
                SIZES[i % len(SIZES)],
                LOOKS[(i // 2) % len(LOOKS)],
                POSITIONS[(i // 3) % len(POSITIONS)],
                scrolling=i % 5 == 4,
                shown_s=1.0 + (i % 3),
            )
        )
    return out


def make_clip(folder: Path, case: Case) -> Path:
    colour, base, box = case.look
    start = 0.5
    x, y = case.position
    if case.scrolling:  # a ticker moving left at 150 px/s (at 1080p), always whole on screen
        x = f"w*0.3-(t-{start})*150"
    shown = caption(
        case.text, start_s=start, end_s=start + case.shown_s, size=case.size, colour=colour,
        x=x, y=y, box=box,
    )  # fmt: skip
    return text_clip(folder / f"{case.name}.mp4", start + case.shown_s + 0.5, [shown], base=base)


@pytest.fixture(scope="module")
def screener() -> Screener:
    return text_screener()


async def test_ocr_recall_and_false_positives(screener: Screener, tmp_path: Path) -> None:
    all_cases = cases()
    assert len(all_cases) >= 60
    clips = await asyncio.gather(
        *(asyncio.to_thread(make_clip, tmp_path, case) for case in all_cases)
    )
    rows = []
    for case, clip in zip(all_cases, clips, strict=True):
        record = decision_record(await screener.screen(clip, None, LICENCE))
        ocr_lists = {
            h.label.split(":", 1)[1] for h in record.hits or () if h.label.startswith("ocr:")
        }
        read = sorted({f.text or "" for h in record.hits or () for f in h.frames})
        rows.append((case, ocr_lists, read))
    positives = [(c, found) for c, found, _ in rows if c.expected is not None]
    negatives = [(c, found) for c, found, _ in rows if c.expected is None]
    tp = sum(1 for c, found in positives if c.expected in found)
    fn = len(positives) - tp
    fp = sum(1 for _, found in negatives if found)
    tn = len(negatives) - fp
    print(
        f"\nOCR on {len(rows)} clips\n"
        f"                 hit   no hit\n"
        f"  list term    {tp:5d}  {fn:5d}   recall {tp / len(positives):.1%}\n"
        f"  clean text   {fp:5d}  {tn:5d}   false positives {fp / len(negatives):.1%}"
    )
    for case, found, read in rows:
        if (case.expected is not None) != bool(case.expected in found) or (
            case.expected is None and found
        ):
            print(f"  miss/false: {case} -> {sorted(found)} {read}")
    assert tp / len(positives) >= 0.95
    assert fp / len(negatives) <= 0.02
