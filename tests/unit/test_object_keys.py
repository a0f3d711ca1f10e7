"""Object keys never leave their tenant's prefix, whatever the ids say."""

from __future__ import annotations

import pytest

from gateway.domain.object_keys import (
    ObjectKeyInvalid,
    extension_for,
    rendition_file_key,
    source_key,
    tenant_prefix,
)


def test_keys_for_an_upload() -> None:
    assert source_key("t1", "u1", "mp4") == "tenants/t1/videos/u1/source.mp4"
    assert rendition_file_key("t1", "u1", "720p.mp4") == "tenants/t1/videos/u1/renditions/720p.mp4"
    assert rendition_file_key("t1", "u1", "hls/480p/seg_001.ts") == (
        "tenants/t1/videos/u1/renditions/hls/480p/seg_001.ts"
    )
    assert extension_for("mov,mp4,m4a,3gp,3g2,mj2") == "mp4"
    assert extension_for("something,new") == "bin"


@pytest.mark.parametrize("tenant_id", ["..", "../other", "a/b", "", ".", "x" * 65, "t 1", "t\x00"])
def test_a_tenant_prefix_that_could_climb_out_is_refused(tenant_id: str) -> None:
    with pytest.raises(ObjectKeyInvalid):
        tenant_prefix(tenant_id)
    with pytest.raises(ObjectKeyInvalid):
        source_key(tenant_id, "u1", "mp4")


@pytest.mark.parametrize(
    ("upload_id", "extension"), [("..", "mp4"), ("u1", "../x"), ("u1", "MP4"), ("u1", "")]
)
def test_unsafe_upload_ids_and_extensions_are_refused(upload_id: str, extension: str) -> None:
    with pytest.raises(ObjectKeyInvalid):
        source_key("t1", upload_id, extension)


@pytest.mark.parametrize(
    "relative", ["../x.ts", "hls/../x.ts", "hls//x.ts", "a/b/c/d.ts", "hls/x", "/abs.ts", ".ts"]
)
def test_unsafe_rendition_paths_are_refused(relative: str) -> None:
    with pytest.raises(ObjectKeyInvalid):
        rendition_file_key("t1", "u1", relative)
