from __future__ import annotations

from gateway.domain.decisions import MetadataCheck
from gateway.services.screening_worker import compare_metadata


def test_declared_and_file_tags_compared_where_both_exist() -> None:
    result = compare_metadata(
        {"title": "Launch Day", "rights_holder": "Studio A", "filename": "x.mp4"},
        {"TITLE": "launch day ", "copyright": "Studio B", "encoder": "x264"},
    )
    assert result == {
        "title": MetadataCheck(declared="Launch Day", file="launch day ", match=True),
        "rights_holder": MetadataCheck(declared="Studio A", file="Studio B", match=False),
    }
    assert compare_metadata({"title": "a"}, {}) == {}
