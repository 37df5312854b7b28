"""Read the student's code (never run it) to find forbidden library calls.

The sandbox also stubs the forbidden libraries, so a call that slips past this reading
(``__import__("tensor" + "flow")``) still fails at run time; this reading names the call
in the message, and catches a call hidden inside a ``try`` with a fallback.
"""

from __future__ import annotations

import ast


def _import_aliases(tree: ast.AST) -> dict[str, str]:
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                aliases[local] = alias.name if alias.asname else alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _parse(source: str) -> ast.AST | None:
    lines = ["pass" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n")]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def forbidden_uses(cells: list[dict], targets: list[str], forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    """For each target function, the forbidden library names it reaches (directly or via helpers)."""
    if not forbidden:
        return {}
    trees = [t for t in (_parse(c["source"]) for c in cells) if t is not None]
    aliases: dict[str, str] = {}
    functions: dict[str, ast.AST] = {}
    for tree in trees:
        aliases.update(_import_aliases(tree))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                functions[node.name] = node

    def is_forbidden(qualified: str) -> bool:
        return qualified.split(".")[0] in forbidden

    def uses(name: str, seen: set) -> list[str]:
        if name in seen or name not in functions:
            return []
        seen.add(name)
        node = functions[name]
        found = []
        local_aliases = _import_aliases(node)
        for inner in ast.walk(node):
            if isinstance(inner, (ast.Import, ast.ImportFrom)):
                found += [q for q in _import_aliases(inner).values() if is_forbidden(q)]
            dotted = _dotted(inner) if isinstance(inner, (ast.Attribute, ast.Name)) else None
            if dotted:
                root, _, rest = dotted.partition(".")
                qualified = local_aliases.get(root) or aliases.get(root)
                if qualified and is_forbidden(qualified):
                    found.append(qualified + ("." + rest if rest else ""))
                elif root in functions and root != name:
                    found += uses(root, seen)
        return found

    result = {}
    for target in targets:
        names = uses(target, set())
        if names:
            # keep the most specific names, without duplicates, in order
            unique = list(dict.fromkeys(sorted(names, key=len, reverse=True)))
            result[target] = [n for n in unique if not any(o != n and o.startswith(n + ".") for o in unique)]
    return result
