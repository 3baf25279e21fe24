"""The import graph, read from the source (grimp counts imports inside functions too, so a lazy import
cannot hide a loop): no module reaches itself, and no engine sub-package reaches back into one that
imports it."""
from __future__ import annotations

import grimp
import pytest

from describe_aloud.engine.captioners import base as captioners_base

PACKAGES = ("describe_aloud.engine", "describe_aloud.gui", "describe_aloud.cli")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, include_external_packages=False)


def test_no_module_imports_itself_through_others(graph):
    loops = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if imported != module and graph.chain_exists(importer=imported, imported=module):
                loops.append(" -> ".join(graph.find_shortest_chain(importer=imported, imported=module)) + f" -> {imported}")
    assert loops == []


def _subpackages(graph: grimp.ImportGraph) -> list[str]:
    return sorted(m for m in graph.modules if m.count(".") == 2 and graph.find_children(m))


def test_no_two_engine_subpackages_import_each_other(graph):
    engine = [p for p in _subpackages(graph) if p.startswith("describe_aloud.engine.")]
    assert "describe_aloud.engine.captioners" in engine and "describe_aloud.engine.training" in engine
    both_ways = []
    for a in engine:
        for b in engine:
            if a < b and graph.chain_exists(a, b, as_packages=True) and graph.chain_exists(b, a, as_packages=True):
                both_ways.append((a, b))
    assert both_ways == []


def test_backends_named_by_strings_exist(graph):
    """A backend registered as "module:attribute" is not an import grimp sees: check it resolves."""
    for name in captioners_base.REGISTRY.names():
        assert callable(captioners_base.get_captioner_factory(name))
