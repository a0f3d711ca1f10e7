from __future__ import annotations

import ast
from pathlib import Path

from gateway.domain.principals import hash_secret, issue_key, secret_matches, split_key
from gateway.domain.states import ALLOWED_TRANSITIONS, UploadState, can_transition

DOMAIN = Path(__file__).resolve().parents[2] / "gateway" / "domain"
FORBIDDEN = (
    "aiohttp",
    "sqlalchemy",
    "boto3",
    "botocore",
    "onnxruntime",
    "numpy",
    "subprocess",
    "asyncio",
    "os",
    "socket",
)


def test_domain_imports_no_io_and_nothing_else_of_gateway() -> None:
    for path in DOMAIN.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, (path.name, name)
                if name.startswith("gateway."):
                    assert name.startswith("gateway.domain"), (path.name, name)


def test_keys_round_trip_and_refuse_tampering() -> None:
    issued = issue_key()
    parts = split_key(issued.plaintext)
    assert parts is not None
    key_id, secret = parts
    assert key_id == issued.key_id
    assert secret_matches(secret, issued.secret_hash)
    assert not secret_matches(secret + "x", issued.secret_hash)
    assert issued.secret_hash == hash_secret(secret)
    assert secret not in issued.secret_hash
    for bad in ["", "vg_", "vg_short_x", "xx_0123456789abcdef_x", "vg_0123456789abcdef_"]:
        assert split_key(bad) is None


def test_terminal_states_go_nowhere_and_every_state_is_reachable() -> None:
    for state in (UploadState.EXPIRED, UploadState.TERMINATED, UploadState.PURGED):
        assert ALLOWED_TRANSITIONS[state] == frozenset()
    reachable = {UploadState.RECEIVING}
    for targets in ALLOWED_TRANSITIONS.values():
        reachable |= targets
    assert reachable == set(UploadState)
    assert not can_transition(UploadState.REJECTED, UploadState.APPROVED)
    assert not can_transition(UploadState.RECEIVING, UploadState.APPROVED)
