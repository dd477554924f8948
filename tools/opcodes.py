"""Check that no module of `xcs` but `xcs/pyversion.py` names a version-specific opcode.

    python tools/opcodes.py         # lists every offending string; exit 1 if there is one

An opcode is version-specific when CPython 3.11, 3.12 and 3.13 do not all have it (and the
3.10 names, which none of them has): `LOAD_FAST_CHECK`, `PRECALL`, `KW_NAMES`, `CALL_KW`,
`LOAD_METHOD`, `END_FOR`, `CALL_FUNCTION`, ... Code outside `pyversion` names the family
(`pyversion.LOCAL_READS`, `pyversion.CALLS`, ...), so that a new CPython version means editing
one module. A string constant equal to such a name is an offence; docstrings and comments
are not read. `COMMON` and `VERSION_SPECIFIC` were computed from `dis.opmap` (opcodes below
256, the real ones) of each version; tests/house checks them against the running interpreter.
"""
from __future__ import annotations

import ast
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "xcs"
ALLOWED = {ROOT / "pyversion.py"}

# Opcodes every supported version has.
COMMON = frozenset({
    "BEFORE_ASYNC_WITH", "BEFORE_WITH", "BINARY_OP", "BINARY_SUBSCR", "BUILD_CONST_KEY_MAP", "BUILD_LIST",
    "BUILD_MAP", "BUILD_SET", "BUILD_SLICE", "BUILD_STRING", "BUILD_TUPLE", "CACHE", "CALL",
    "CALL_FUNCTION_EX", "CHECK_EG_MATCH", "CHECK_EXC_MATCH", "COMPARE_OP", "CONTAINS_OP", "COPY",
    "COPY_FREE_VARS", "DELETE_ATTR", "DELETE_DEREF", "DELETE_FAST", "DELETE_GLOBAL", "DELETE_NAME",
    "DELETE_SUBSCR", "DICT_MERGE", "DICT_UPDATE", "END_ASYNC_FOR", "EXTENDED_ARG", "FOR_ITER", "GET_AITER",
    "GET_ANEXT", "GET_AWAITABLE", "GET_ITER", "GET_LEN", "GET_YIELD_FROM_ITER", "IMPORT_FROM", "IMPORT_NAME",
    "IS_OP", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT", "JUMP_FORWARD", "LIST_APPEND", "LIST_EXTEND",
    "LOAD_ASSERTION_ERROR", "LOAD_ATTR", "LOAD_BUILD_CLASS", "LOAD_CONST", "LOAD_DEREF", "LOAD_FAST",
    "LOAD_GLOBAL", "LOAD_NAME", "MAKE_CELL", "MAKE_FUNCTION", "MAP_ADD", "MATCH_CLASS", "MATCH_KEYS",
    "MATCH_MAPPING", "MATCH_SEQUENCE", "NOP", "POP_EXCEPT", "POP_TOP", "PUSH_EXC_INFO", "PUSH_NULL",
    "RAISE_VARARGS", "RERAISE", "RESUME", "RETURN_GENERATOR", "RETURN_VALUE", "SEND", "SETUP_ANNOTATIONS",
    "SET_ADD", "SET_UPDATE", "STORE_ATTR", "STORE_DEREF", "STORE_FAST", "STORE_GLOBAL", "STORE_NAME",
    "STORE_SUBSCR", "SWAP", "UNARY_INVERT", "UNARY_NEGATIVE", "UNARY_NOT", "UNPACK_EX", "UNPACK_SEQUENCE",
    "WITH_EXCEPT_START", "YIELD_VALUE",
})

# Opcodes some supported versions have and others do not.
VERSION_SPECIFIC_311_TO_313 = frozenset({
    "ASYNC_GEN_WRAP", "BINARY_SLICE", "CALL_INTRINSIC_1", "CALL_INTRINSIC_2", "CALL_KW", "CLEANUP_THROW",
    "CONVERT_VALUE", "END_FOR", "END_SEND", "ENTER_EXECUTOR", "EXIT_INIT_CHECK", "FORMAT_SIMPLE",
    "FORMAT_VALUE", "FORMAT_WITH_SPEC", "IMPORT_STAR", "INSTRUMENTED_CALL", "INSTRUMENTED_CALL_FUNCTION_EX",
    "INSTRUMENTED_CALL_KW", "INSTRUMENTED_END_FOR", "INSTRUMENTED_END_SEND", "INSTRUMENTED_FOR_ITER",
    "INSTRUMENTED_INSTRUCTION", "INSTRUMENTED_JUMP_BACKWARD", "INSTRUMENTED_JUMP_FORWARD",
    "INSTRUMENTED_LINE", "INSTRUMENTED_LOAD_SUPER_ATTR", "INSTRUMENTED_POP_JUMP_IF_FALSE",
    "INSTRUMENTED_POP_JUMP_IF_NONE", "INSTRUMENTED_POP_JUMP_IF_NOT_NONE", "INSTRUMENTED_POP_JUMP_IF_TRUE",
    "INSTRUMENTED_RESUME", "INSTRUMENTED_RETURN_CONST", "INSTRUMENTED_RETURN_VALUE",
    "INSTRUMENTED_YIELD_VALUE", "INTERPRETER_EXIT", "JUMP_IF_FALSE_OR_POP", "JUMP_IF_TRUE_OR_POP",
    "KW_NAMES", "LIST_TO_TUPLE", "LOAD_CLASSDEREF", "LOAD_CLOSURE", "LOAD_FAST_AND_CLEAR", "LOAD_FAST_CHECK",
    "LOAD_FAST_LOAD_FAST", "LOAD_FROM_DICT_OR_DEREF", "LOAD_FROM_DICT_OR_GLOBALS", "LOAD_LOCALS",
    "LOAD_METHOD", "LOAD_SUPER_ATTR", "POP_JUMP_BACKWARD_IF_FALSE", "POP_JUMP_BACKWARD_IF_NONE",
    "POP_JUMP_BACKWARD_IF_NOT_NONE", "POP_JUMP_BACKWARD_IF_TRUE", "POP_JUMP_FORWARD_IF_FALSE",
    "POP_JUMP_FORWARD_IF_NONE", "POP_JUMP_FORWARD_IF_NOT_NONE", "POP_JUMP_FORWARD_IF_TRUE",
    "POP_JUMP_IF_FALSE", "POP_JUMP_IF_NONE", "POP_JUMP_IF_NOT_NONE", "POP_JUMP_IF_TRUE", "PRECALL",
    "PREP_RERAISE_STAR", "PRINT_EXPR", "RESERVED", "RETURN_CONST", "SET_FUNCTION_ATTRIBUTE",
    "STORE_FAST_LOAD_FAST", "STORE_FAST_STORE_FAST", "STORE_SLICE", "TO_BOOL", "UNARY_POSITIVE",
})

# CPython 3.10 opcodes that no supported version has (a sign of code written for 3.10).
REMOVED_BY_311 = frozenset({
    "BINARY_ADD", "BINARY_AND", "BINARY_FLOOR_DIVIDE", "BINARY_LSHIFT", "BINARY_MATRIX_MULTIPLY",
    "BINARY_MODULO", "BINARY_MULTIPLY", "BINARY_OR", "BINARY_POWER", "BINARY_RSHIFT", "BINARY_SUBTRACT",
    "BINARY_TRUE_DIVIDE", "BINARY_XOR", "CALL_FUNCTION", "CALL_FUNCTION_KW", "CALL_METHOD",
    "COPY_DICT_WITHOUT_KEYS", "DUP_TOP", "DUP_TOP_TWO", "GEN_START", "INPLACE_ADD", "INPLACE_AND",
    "INPLACE_FLOOR_DIVIDE", "INPLACE_LSHIFT", "INPLACE_MATRIX_MULTIPLY", "INPLACE_MODULO",
    "INPLACE_MULTIPLY", "INPLACE_OR", "INPLACE_POWER", "INPLACE_RSHIFT", "INPLACE_SUBTRACT",
    "INPLACE_TRUE_DIVIDE", "INPLACE_XOR", "JUMP_ABSOLUTE", "JUMP_IF_NOT_EXC_MATCH", "POP_BLOCK", "ROT_FOUR",
    "ROT_N", "ROT_THREE", "ROT_TWO", "SETUP_ASYNC_WITH", "SETUP_FINALLY", "SETUP_WITH", "YIELD_FROM",
})

VERSION_SPECIFIC = VERSION_SPECIFIC_311_TO_313 | REMOVED_BY_311


def offences(path: pathlib.Path, root: pathlib.Path = ROOT) -> list:
    """`path:line: NAME` for every string constant of `path` that names a version-specific opcode."""
    tree = ast.parse(path.read_text(), str(path))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)}
    return [f"{path.relative_to(root.parent)}:{node.lineno}: {node.value}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in VERSION_SPECIFIC
            and id(node) not in docstrings]


def all_offences(root: pathlib.Path = ROOT) -> list:
    return sorted(line for path in sorted(root.rglob("*.py")) if path not in ALLOWED for line in offences(path, root))


def main() -> int:
    found = all_offences()
    for line in found:
        print(f"{line}: a version-specific opcode outside xcs/pyversion.py — name its family from pyversion")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
