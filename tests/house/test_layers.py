"""The folders are the layers: no module of `xcs` imports a layer above its own."""
import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("layers", ROOT / "tools" / "layers.py")
layers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(layers)


def test_no_module_imports_a_layer_above_its_own():
    assert layers.violations(layers.graph()) == []


def test_an_upward_import_is_reported():
    edges = {"xcs.analysis.split": {"xcs.runtime.turns"}, "xcs.runtime.turns": {"xcs.config"},
             "xcs.evidence.guards": {"xcs.api.compiler"}, "xcs.cli.run": {"xcs"}, "xcs.config": set()}
    found = layers.violations(edges)
    assert len(found) == 2
    assert any("xcs.analysis.split" in line and "xcs.runtime.turns" in line for line in found)
    assert any("xcs.evidence.guards" in line and "xcs.api.compiler" in line for line in found)


def test_every_module_is_in_a_layer():
    for module in layers.graph():
        assert layers.layer_of(module) in layers.LAYERS
