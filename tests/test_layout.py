"""The package layout's dependency direction (docs/architecture.md, "Where each layer lives").

`orchestration` is the Dagster code location and the pipeline library it drives. The products
beside it — the reference dashboard, the synthetic data generator and the Partner Center
sandbox — are packages of their own that may import `orchestration`, never the other way round,
except lazily inside the CLI handler that starts one of them (so `import orchestration...` never
loads a web app or the generator).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTS = ("dashboard", "synthetic", "sandbox")
CLI = ROOT / "orchestration" / "cli.py"


def _imported_packages(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name.split(".")[0] for alias in node.names}
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return {node.module.split(".")[0]}
    return set()


def _product_imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, imported module, inside a function?) for each import of a product package."""
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if _imported_packages(child) & set(PRODUCTS):
                module = child.module if isinstance(child, ast.ImportFrom) else child.names[0].name
                found.append((child.lineno, module, in_function))
            visit(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))

    visit(ast.parse(path.read_text(), str(path)), False)
    return found


def test_orchestration_imports_the_products_only_lazily_in_the_cli():
    modules = sorted((ROOT / "orchestration").rglob("*.py"))
    assert len(modules) > 50  # the walk really covers the package
    offending = []
    for path in modules:
        for line, module, in_function in _product_imports(path):
            if path != CLI or not in_function:
                offending.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert offending == []


def test_the_cli_starts_each_product_through_a_lazy_import():
    # The walk sees imports inside functions: the CLI's three handlers are what it allows.
    assert {module for _, module, _ in _product_imports(CLI)} == {
        "synthetic.generator",
        "dashboard.app",
        "sandbox.server",
    }
    assert all(in_function for _, _, in_function in _product_imports(CLI))


def test_a_top_level_import_of_a_product_is_caught(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "import os\nfrom dashboard import queries\n\ndef f():\n    import synthetic.generator\n"
    )
    assert _product_imports(module) == [(2, "dashboard", False), (5, "synthetic.generator", True)]
