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


# --- version-specific opcodes live in xcs/pyversion.py only ------------------------------

import dis  # noqa: E402

spec = importlib.util.spec_from_file_location("opcodes", ROOT / "tools" / "opcodes.py")
opcodes = importlib.util.module_from_spec(spec)
spec.loader.exec_module(opcodes)


def test_no_module_but_pyversion_names_a_version_specific_opcode():
    assert opcodes.all_offences() == []


def test_the_opcode_tables_match_this_interpreter():
    real = {name for name, op in dis.opmap.items() if op < 256}
    assert opcodes.COMMON <= real
    assert real - opcodes.COMMON <= opcodes.VERSION_SPECIFIC_311_TO_313
    assert not opcodes.COMMON & opcodes.VERSION_SPECIFIC


def test_an_opcode_named_outside_pyversion_is_reported(tmp_path):
    (tmp_path / "mod.py").write_text('"""LOAD_FAST_CHECK in a docstring is fine."""\n'
                                     'LOADS = ("LOAD_FAST", "LOAD_FAST_CHECK")\nCALLS = {"CALL_FUNCTION"}\n')
    found = opcodes.all_offences(tmp_path)
    assert [line.split(": ", 1)[1] for line in found] == ["LOAD_FAST_CHECK", "CALL_FUNCTION"]
