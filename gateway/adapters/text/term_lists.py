"""Term lists on disk: `<folder>/<list>.txt`, UTF-8, one term a line, `#` starts a comment.

Keyword lists (`policies/keywords/`) and domain lists (`policies/domains/`) share this format.
A keyword list may have an allow-list beside it, `<list>.allow.txt`: known false friends
(text that contains a term but is harmless, such as 赌场风云 for 赌场) that suppress a hit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gateway.domain.errors import ConfigError

LIST_NAME = re.compile(r"^[a-z0-9_-]{1,64}$")
ALLOW_SUFFIX = ".allow"
# A list past this is a mistake (a binary file, a dump): refused rather than loaded.
MAX_LIST_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class TermList:
    name: str
    terms: tuple[str, ...]  # as written (normalised when an automaton is built)
    allowed: tuple[str, ...]  # false friends, as written
    signature: tuple[tuple[str, int, int], ...]  # (file, mtime_ns, size): what was read


def read_terms(path: Path) -> list[str]:
    """The terms of one file; a file that is not UTF-8 text is a ConfigError naming the line."""
    size = path.stat().st_size
    if size > MAX_LIST_BYTES:
        raise ConfigError(f"{path}: {size} bytes is more than a term list may hold")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}: line {line} is not UTF-8") from exc
    terms = []
    for raw in text.splitlines():
        term = raw.split("#", 1)[0].strip()
        if term:
            terms.append(term)
    return terms


def list_files(folder: Path) -> dict[str, Path]:
    """Each list's name and file (allow-lists excluded); names outside [a-z0-9_-] refused."""
    found: dict[str, Path] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.txt")):
        name = path.name.removesuffix(".txt")
        if name.endswith(ALLOW_SUFFIX):
            continue
        if not LIST_NAME.match(name):
            raise ConfigError(f"{path}: a list name is lower-case letters, digits, _ and -")
        found[name] = path
    return found


def signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """What changes when any list or allow-list in `folder` is edited, added or removed."""
    if not folder.is_dir():
        return ()
    return tuple(
        (path.name, stat.st_mtime_ns, stat.st_size)
        for path in sorted(folder.glob("*.txt"))
        for stat in (path.stat(),)
    )


def load_lists(folder: Path) -> dict[str, TermList]:
    lists = {}
    for name, path in list_files(folder).items():
        allow_path = path.with_name(f"{name}{ALLOW_SUFFIX}.txt")
        allowed = read_terms(allow_path) if allow_path.exists() else []
        files = [path, allow_path] if allow_path.exists() else [path]
        lists[name] = TermList(
            name,
            tuple(read_terms(path)),
            tuple(allowed),
            tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in files),
        )
    return lists
