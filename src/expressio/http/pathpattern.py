"""Express path patterns, compiled once into regular expressions.

The pattern language is Express 4's (path-to-regexp 0.1):

- ``/users/:id`` captures one path segment as ``params["id"]``;
- ``/users/:id?`` makes the parameter (and the slash before it) optional;
- ``/files/:name(\\d+)`` gives a parameter its own regular expression;
- ``*`` captures anything (including slashes) as ``params[0]``;
- other regular-expression characters (``?``, ``+``, ``(...)``) keep their meaning, so
  ``/ab?cd`` matches ``/acd`` and ``/abcd``; ``.`` is literal.

A compiled ``re.Pattern`` is used as it is (searched, like Express's ``RegExp``), its groups
becoming ``params[0]``, ``params[1]``... and, for named groups, ``params[name]`` too.

Matching is case-insensitive and ignores one trailing slash unless asked otherwise, as
Express's defaults ("case sensitive routing" and "strict routing" off).
"""

from __future__ import annotations

import re
from typing import Any

# Characters that make a string pattern more than a literal path.
_SPECIAL = frozenset(":*()?+[]\\{}|^$")


class Params(dict[str, str]):
    """``req.params``: a dict of path parameters that also accepts integer keys.

    Express exposes wildcard and unnamed-group captures as ``req.params[0]``; here they are
    stored under ``"0"`` and ``params[0]`` finds them too.
    """

    __slots__ = ()

    def __getitem__(self, key: str | int) -> str:
        return super().__getitem__(str(key))

    def get(self, key: str | int, default: Any = None) -> Any:
        return super().get(str(key), default)

    def __contains__(self, key: object) -> bool:
        return super().__contains__(str(key))


class PathPattern:
    """One compiled path pattern.

    ``end=True`` is a route pattern (the whole path must match); ``end=False`` is a mount
    prefix for ``use`` (matches ``/static``, ``/static/`` and ``/static/x`` but not ``/staticx``).
    ``match`` returns the parameters and the length of the matched prefix, or ``None``.
    """

    __slots__ = ("_keys", "_literal", "_regex", "_search", "end", "matches_all", "source")

    def __init__(
        self,
        source: str | re.Pattern[str],
        *,
        end: bool = True,
        case_sensitive: bool = False,
        strict: bool = False,
    ) -> None:
        self.source = source
        self.end = end
        self._literal: str | None = None
        self._keys: list[str] = []
        self._search = False
        if isinstance(source, re.Pattern):
            self._regex = source
            self._search = True
            names = {index: name for name, index in source.groupindex.items()}
            self._keys = [names.get(i, str(i - 1)) for i in range(1, source.groups + 1)]
            self.matches_all = False
            return
        path = source if source.startswith(("/", "*")) else "/" + source
        if not end and path.endswith("/"):
            path = path.rstrip("/")
        # A mount at "/" (or nothing) matches every path without stripping anything.
        self.matches_all = not end and path == ""
        if not _SPECIAL.intersection(path) and case_sensitive is False and not strict:
            self._literal = path.lower()
        body, self._keys = _translate(path)
        flags = 0 if case_sensitive else re.IGNORECASE
        trailing = "" if strict or not end else "/?"
        tail = "$" if end else "(?=/|$)"
        self._regex = re.compile(f"^{body}{trailing}{tail}", flags)

    def match(self, path: str) -> tuple[Params, int] | None:
        """Parameters and matched length when ``path`` matches, else ``None``."""
        if self.matches_all:
            return Params(), 0
        literal = self._literal
        if literal is not None and self.end:
            # Fast path for plain routes such as "/hello": no regex, no parameters.
            if path == literal or path.lower() == literal:
                return Params(), len(path)
            if len(path) == len(literal) + 1 and path[-1] == "/" and path[:-1].lower() == literal:
                return Params(), len(path)
            return None
        found = self._regex.search(path) if self._search else self._regex.match(path)
        if found is None:
            return None
        params = Params()
        if self._keys:
            for key, value in zip(self._keys, found.groups(), strict=True):
                if value is not None:
                    params[key] = value
            if self._search:
                for index, value in enumerate(found.groups()):
                    if value is not None:
                        params.setdefault(str(index), value)
        return params, found.end()

    def __repr__(self) -> str:
        return f"PathPattern({self.source!r}, end={self.end})"


def _translate(path: str) -> tuple[str, list[str]]:
    """Turn an Express path string into a regex body and the key of each capturing group."""
    out: list[str] = []
    keys: list[str] = []
    unnamed = 0
    i = 0
    length = len(path)
    while i < length:
        char = path[i]
        if char == "\\" and i + 1 < length:
            out.append(path[i : i + 2])
            i += 2
            continue
        if char == ":" and i + 1 < length and (path[i + 1].isalnum() or path[i + 1] == "_"):
            j = i + 1
            while j < length and (path[j].isalnum() or path[j] == "_"):
                j += 1
            name = path[i + 1 : j]
            inner = "[^/]+?"
            if j < length and path[j] == "(":
                close = _closing_paren(path, j)
                inner = path[j + 1 : close]
                j = close + 1
            group = f"({inner})"
            if j < length and path[j] == "?":
                j += 1
                if out and out[-1] == "/":
                    out.pop()
                    out.append(f"(?:/{group})?")
                else:
                    out.append(f"{group}?")
            else:
                out.append(group)
            keys.append(name)
            i = j
            continue
        if char == "*":
            out.append("(.*)")
            keys.append(str(unnamed))
            unnamed += 1
        elif char == "(":
            out.append("(")
            if not path.startswith("(?", i):
                keys.append(str(unnamed))
                unnamed += 1
        elif char == ".":
            out.append("\\.")
        else:
            out.append(char)
        i += 1
    return "".join(out), keys


def _closing_paren(path: str, start: int) -> int:
    depth = 0
    index = start
    while index < len(path):
        if path[index] == "\\":
            index += 2
            continue
        if path[index] == "(":
            depth += 1
        elif path[index] == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    raise ValueError(f"unbalanced parenthesis in path pattern {path!r}")
