"""Finding the code blocks of a Markdown page: fenced blocks, their language and first line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


@dataclass(frozen=True)
class CodeBlock:
    page: Path
    line: int  # 1-based line of the opening fence
    language: str  # first word of the info string, lower case ("" when none)
    flags: tuple[str, ...]  # the info string's other words (``python no-assert``)
    code: str

    @property
    def label(self) -> str:
        return f"{self.page.name}:{self.line}"


def code_blocks(page: Path) -> list[CodeBlock]:
    """Every fenced block of ``page``, in order."""
    blocks: list[CodeBlock] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence = opening["fence"]
        info = opening["info"].strip()
        words = info.split()
        language = words[0].lower() if words else ""
        body: list[str] = []
        start = index
        index += 1
        while index < len(lines):
            closing = FENCE.match(lines[index])
            if _closes(closing, fence):
                break
            body.append(lines[index][len(opening["indent"]) :])
            index += 1
        code = "\n".join(body) + "\n"
        blocks.append(CodeBlock(page, start + 1, language, tuple(words[1:]), code))
        index += 1
    return blocks


def _closes(line: re.Match[str] | None, fence: str) -> bool:
    """A closing fence: the same character, at least as long, nothing after it."""
    return (
        line is not None
        and line["fence"][0] == fence[0]
        and len(line["fence"]) >= len(fence)
        and not line["info"].strip()
    )


def python_blocks(page: Path) -> list[CodeBlock]:
    return [block for block in code_blocks(page) if block.language in ("python", "py")]
