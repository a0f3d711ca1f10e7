"""What a viewer sees of an ASS event: tags, drawings and markup gone, line breaks kept; and a
script's events read within their caps."""

from __future__ import annotations

import time

from gateway.adapters.media.ass_events import parse_ass, visible_text
from gateway.domain.media import SubtitleCue
from tests.text_media import ASS_HEADER


def test_override_tags_and_line_breaks() -> None:
    event = r"{\pos(320,50)\c&H00FFFF&\3c&H000000&}欢迎来到{\b1}澳门{\b0}百家乐\N第二行\n第三行"
    assert visible_text(event) == "欢迎来到澳门百家乐\n第二行\n第三行"
    assert visible_text(r"{\an8}<i>plain</i>, with\hcomma") == "plain , with comma"
    assert visible_text(r"{\k20}今{\k20}天{\fad(200,200)}") == "今天"


def test_a_drawing_is_not_text() -> None:
    assert visible_text(r"{\p1}m 0 0 l 100 0 100 100 0 100{\p0}") == ""
    assert visible_text(r"{\p2\pos(1,2)}m 0 0 b 10 -5.5 20 20 30 30 c") == ""
    # \pos and \pbo are not the drawing switch; text after \p0 is text again.
    assert visible_text(r"{\pos(10,10)\pbo5}m 0 0 l 1 1") == "m 0 0 l 1 1"
    assert visible_text(r"{\p1}m 0 0 l 9 9{\p0}下一行") == "下一行"


def test_a_drawing_switch_cannot_hide_words() -> None:
    assert visible_text(r"{\p1}澳门赌场 m 0 0{\p0}") == "澳门赌场 m 0 0"


def test_events_read_with_their_times_and_comments_skipped() -> None:
    script = ASS_HEADER + (
        "Dialogue: 0,0:00:01.50,0:00:02.00,Default,,0,0,0,,第一句, 有逗号\n"
        "Comment: 0,0:00:03.00,0:00:04.00,Default,,0,0,0,,不显示\n"
        "Dialogue: 0,0:00:05.00,0:00:06.00,Default,,0,0,0,,{\\p1}m 0 0 l 1 1{\\p0}\n"
        "Dialogue: broken line\n"
        "Dialogue: 0,1:02:03.04,1:02:04.00,Default,,0,0,0,,晚\n"
    )
    events = parse_ass(script, max_cues=10)
    assert events.cues == (
        SubtitleCue(1.5, 2.0, "第一句, 有逗号"),
        SubtitleCue(3723.04, 3724.0, "晚"),
    )
    assert (events.dialogues, events.capped) == (4, "")


def test_an_ssa_script_with_its_own_format_line() -> None:
    script = (
        "[Script Info]\nScriptType: v4.00\n\n[Events]\n"
        "Format: Marked, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
        "Dialogue: Marked=0,0:00:01.00,0:00:02.00,Default,,0000,0000,0000,,外挂{\\i1}下载\n"
    )
    assert parse_ass(script, max_cues=10).cues == (SubtitleCue(1.0, 2.0, "外挂下载"),)


def test_caps_are_said_not_silent() -> None:
    start = "Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,"
    drawing = start + "{\\p1}" + "l 1 1 " * 20_000 + "{\\p0}藏在后面"  # 120,000 characters
    script = ASS_HEADER + "".join(f"{drawing}\n{start}句{i}\n" for i in range(100))
    started = time.monotonic()
    events = parse_ass(script, max_cues=50, max_event_chars=64 * 1024)
    assert time.monotonic() - started < 5
    # A cut event's text past the cut is not read: the cap says so.
    assert [c.text for c in events.cues] == [f"句{i}" for i in range(50)]
    assert events.capped == (
        "the first 50 events with text read, of 200; 50 events longer than 65536 characters cut"
    )
