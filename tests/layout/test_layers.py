"""The package's shape: a folder per layer, no import cycle, each layer using only those below.

Read from the source with ``ast`` (see ``imports.py``), so a new import that breaks the layering
fails here with the edge that breaks it.
"""

from __future__ import annotations

from tests.layout.imports import Edge, cycles, edges, folder, modules

#: Layers from the bottom up; a folder may import its own and those listed before it.
LAYERS = ("protocol", "engine", "realtime", "sessions", "scaleout", "io", "http")
#: Top-level modules besides ``__init__``: the command line, above every layer.
TOP_LEVEL = {"expressio.cli"}


def test_the_top_level_package_holds_little_more_than_init() -> None:
    top = {
        name
        for name, path in modules().items()
        if name.count(".") == 1 and path.name != "__init__.py"
    }
    assert top - TOP_LEVEL == set(), "modules outside the layer folders"


def test_no_run_time_import_cycle() -> None:
    run_time = {}
    for edge in edges():
        if not edge.type_only:
            run_time.setdefault(edge.source, set()).add(edge.target)
    assert cycles(run_time) == []


def test_no_import_cycle_between_folders_not_even_for_types() -> None:
    between: dict[str, set[str]] = {}
    for edge in edges():
        source, target = folder(edge.source), folder(edge.target)
        if source != target and source and target:
            between.setdefault(source, set()).add(target)
    assert cycles(between) == []


def test_each_layer_imports_only_itself_and_the_layers_below() -> None:
    def breaks(edge: Edge) -> bool:
        source, target = folder(edge.source), folder(edge.target)
        if source not in LAYERS or target not in LAYERS:
            return False
        return LAYERS.index(target) > LAYERS.index(source)

    upward = [edge for edge in edges() if breaks(edge)]
    assert upward == []


def test_the_test_client_uses_only_the_protocol_codecs_and_no_server_internals() -> None:
    """``expressio.testing`` drives the app through its ASGI interface and public names; of
    the package it imports only itself and the sans-IO codecs (its client side)."""
    reached = {
        folder(edge.target)
        for edge in edges()
        if folder(edge.source) == "testing" and edge.target.startswith("expressio.")
    }
    assert reached <= {"testing", "protocol"}
    assert not [
        edge
        for edge in edges()
        if folder(edge.target) == "testing" and folder(edge.source) != "testing"
    ]


def test_the_checker_sees_imports() -> None:
    found = {(edge.source, edge.target) for edge in edges()}
    # a run-time import, a relative import of a sibling, a type-only import
    assert ("expressio.io.namespace", "expressio.io.routes") in found
    assert ("expressio.http.application", "expressio.io.appio") in found
    assert any(edge.type_only for edge in edges())
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
