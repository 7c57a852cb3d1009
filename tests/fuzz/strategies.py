"""Generators shared by the fuzz tests: JSON values as the codecs carry them, and mangling."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# Text JSON can carry both ways: no lone surrogates (orjson refuses to encode them).
json_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)

# Integers a JavaScript peer holds exactly, and floats that survive a JSON round trip.
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    json_text,
)


def json_values(leaves: st.SearchStrategy[Any] = json_scalars) -> st.SearchStrategy[Any]:
    """JSON documents (lists and objects nested a few levels) over ``leaves``.

    Object keys never spell ``_placeholder``: such an object is the wire's marker for a binary
    attachment, so it cannot be told from one by design."""
    keys = json_text.filter(lambda key: key != "_placeholder")
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)
        ),
        max_leaves=6,
    )


@st.composite
def mangled(draw: st.DrawFn, text: str) -> str:
    """``text`` with a few characters deleted, replaced or inserted, or cut short."""
    chars = list(text)
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["delete", "replace", "insert", "truncate"]))
        position = draw(st.integers(0, len(chars)))
        if action == "truncate":
            del chars[position:]
        elif action == "insert":
            chars.insert(position, draw(st.sampled_from(list('0123456789-/,[]{}"\\ x\x1e'))))
        elif chars and position < len(chars):
            if action == "delete":
                del chars[position]
            else:
                chars[position] = draw(st.characters())
    return "".join(chars)
