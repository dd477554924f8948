"""Check that every module of `xcs` imports only its own layer and the layers below it.

    python tools/layers.py          # prints the import graph's edges and depth; exit 1 on a violation

The layers, lowest first (README, "Layout"): the foundation modules at the top of `xcs/`
(`pyversion`, `sourcepaths`, `config`, `native` and the `_hook` extension it loads), then `analysis`,
`transform`, `runtime`, `evidence`, `api`, and `cli` (the `python -m xcs` commands).
`xcs/__init__.py` and `xcs/__main__.py` sit above all of them. Imports inside functions
count too: a late import is still a dependency.
"""
from __future__ import annotations

import ast
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "xcs"
FOUNDATION = {"xcs.pyversion", "xcs.sourcepaths", "xcs.config", "xcs.native", "xcs._hook"}
LAYERS = ["foundation", "analysis", "transform", "runtime", "evidence", "api", "cli", "top"]


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer_of(module: str) -> str:
    if module in ("xcs", "xcs.__main__"):
        return "top"
    if module in FOUNDATION:
        return "foundation"
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in LAYERS:
        return parts[1]
    raise SystemExit(f"{module}: not in any layer — put it in a layer's folder or add it to FOUNDATION")


def imports(path: pathlib.Path, module: str) -> set:
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if _is_module(full) else base)
    return {name for name in found if name == "xcs" or name.startswith("xcs.")}


def _is_module(name: str) -> bool:
    path = ROOT.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists() or name == "xcs._hook"


def graph() -> dict:
    edges = {}
    for path in sorted(ROOT.rglob("*.py")):
        module = module_name(path)
        edges[module] = {m for m in imports(path, module) if m != module}
    return edges


def depth(edges: dict) -> int:
    memo: dict = {}

    def d(m, seen=()):
        if m in memo:
            return memo[m]
        if m in seen:
            return 0
        memo[m] = 1 + max((d(n, seen + (m,)) for n in edges.get(m, ()) if n in edges), default=0)
        return memo[m]

    return max(d(m) for m in edges)


def violations(edges: dict) -> list:
    out = []
    for module, targets in edges.items():
        own = LAYERS.index(layer_of(module))
        for target in sorted(targets):
            if target == "xcs":
                if layer_of(module) != "top" and layer_of(module) != "cli":
                    out.append(f"{module} imports the package `xcs` (a layer above its own)")
                continue
            if LAYERS.index(layer_of(target)) > own:
                out.append(f"{module} ({layer_of(module)}) imports {target} ({layer_of(target)}), a layer above")
    return out


def main() -> int:
    edges = graph()
    bad = violations(edges)
    count = sum(len(t) for t in edges.values())
    print(f"{len(edges)} modules, {count} import edges between them, depth {depth(edges)}")
    for line in bad:
        print("layer violation:", line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
