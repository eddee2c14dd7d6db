import ast
from pathlib import Path

import mahnwerk.core

CORE = Path(mahnwerk.core.__file__).parent


def test_core_imports_no_django() -> None:
    offenders = []
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in {"django", "ninja"}]
            offenders += [
                f"{path.name}: {n}"
                for n in names
                if n.startswith("mahnwerk.") and not n.startswith("mahnwerk.core")
            ]
    assert offenders == []
