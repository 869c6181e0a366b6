"""One ES module string from the app's own front-end modules, so the notebook widget draws with the same code.

anywidget evaluates its ``_esm`` from a string (a blob URL), where ``import … from "./plot.js"`` has nothing
to resolve against. So the import graph below an entry module is rewritten into one module: every imported
module becomes a function scope evaluated once, in dependency order, returning its exports; its imports
become ``const { a, b: c } = __module_3;``. Module scopes keep the files' own top-level names apart (two
files may both have a ``MARGIN``), and the entry module keeps its ``export`` statements.

The supported subset is what ``static/js`` uses; anything else is refused with the file and line, never
bundled wrongly: named imports from relative paths only, and no importing a ``let`` export (a copied
binding would not follow later assignments; call a function of that module instead).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

IMPORT = re.compile(r'^import\s*\{([^}]*)\}\s*from\s*"([^"]+)";?[ \t]*$', re.MULTILINE)
ANY_IMPORT = re.compile(r"^\s*import\b(?!\s*\()", re.MULTILINE)
EXPORT_DECLARATION = re.compile(
    r"^export\s+(?:async\s+)?(function|class|const|let|var)\b\*?\s*([A-Za-z_$][\w$]*)", re.MULTILINE
)
EXPORT_OTHER = re.compile(r"^export\b", re.MULTILINE)
NAME = re.compile(r"^[A-Za-z_$][\w$]*$")


class BundleError(ValueError):
    """A module uses a form the bundler does not rewrite; the message names the file and the line."""


@dataclass(frozen=True)
class _Module:
    path: Path
    imports: tuple[tuple[Path, tuple[tuple[str, str], ...]], ...]  # (module, ((imported, local), …))
    exports: dict[str, str]  # name -> "function" | "class" | "const" | "let" | "var"
    body: str  # the source without its import lines and without the `export` keywords
    other_export: str | None  # the first other export statement (`export default`, `export { … }`)


def _line(source: str, offset: int) -> int:
    return source.count("\n", 0, offset) + 1


def _names(spec: str, where: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for part in spec.split(","):
        words = part.split()
        if not words:
            continue
        if len(words) == 1:
            imported = local = words[0]
        elif len(words) == 3 and words[1] == "as":
            imported, local = words[0], words[2]
        else:
            raise BundleError(f"{where}: cannot read the import list item {part.strip()!r}")
        if not (NAME.match(imported) and NAME.match(local)):
            raise BundleError(f"{where}: cannot read the import list item {part.strip()!r}")
        pairs.append((imported, local))
    return tuple(pairs)


def _parse(path: Path) -> _Module:
    source = path.read_text(encoding="utf-8")
    imports = []
    for match in IMPORT.finditer(source):
        where = f"{path.name}:{_line(source, match.start())}"
        target = match.group(2)
        if not target.startswith("./") and not target.startswith("../"):
            raise BundleError(f"{where}: only relative imports can be bundled, not {target!r}")
        imports.append(((path.parent / target).resolve(), _names(match.group(1), where)))
    body = IMPORT.sub("", source)
    for match in ANY_IMPORT.finditer(body):
        line = body[match.start() :].split("\n", 1)[0].strip()
        raise BundleError(f'{path.name}: only `import {{ … }} from "./x.js"` can be bundled, not {line!r}')
    exports = {m.group(2): m.group(1) for m in EXPORT_DECLARATION.finditer(body)}
    body = EXPORT_DECLARATION.sub(lambda m: m.group(0)[len("export") :].lstrip(), body)
    leftover = EXPORT_OTHER.search(body)
    other = body[leftover.start() :].split("\n", 1)[0].strip() if leftover else None
    return _Module(path.resolve(), tuple(imports), exports, body, other)


def _order(entry: Path) -> list[_Module]:
    """Every module below ``entry``, each after the modules it imports (depth first); cycles are refused."""
    done: dict[Path, _Module] = {}
    visiting: list[Path] = []

    def visit(path: Path) -> None:
        if path in done:
            return
        if path in visiting:
            cycle = " → ".join(p.name for p in [*visiting[visiting.index(path) :], path])
            raise BundleError(f"import cycle: {cycle}")
        if not path.is_file():
            importer = visiting[-1].name if visiting else "the entry"
            raise BundleError(f"{importer} imports {path.name}, which does not exist")
        visiting.append(path)
        module = _parse(path)
        for target, _ in module.imports:
            visit(target)
        visiting.pop()
        done[path] = module

    visit(entry.resolve())
    return list(done.values())


def _bindings(module: _Module, ids: dict[Path, str], modules: dict[Path, _Module]) -> str:
    lines = []
    for target, pairs in module.imports:
        exported = modules[target].exports
        for imported, _ in pairs:
            kind = exported.get(imported)
            if kind is None:
                raise BundleError(
                    f"{module.path.name} imports {imported!r}, which {target.name} does not export"
                )
            if kind == "let":
                raise BundleError(
                    f"{module.path.name} imports the let binding {imported!r} of {target.name}: a bundled "
                    "copy would not follow its later assignments; import a function that reads it instead"
                )
        names = ", ".join(
            imported if imported == local else f"{imported}: {local}" for imported, local in pairs
        )
        lines.append(f"const {{ {names} }} = {ids[target]};")
    return "\n".join(lines)


def bundle(entry: Path, preamble: str = "") -> str:
    """The entry module with everything it imports inlined: one ES module source.

    ``preamble`` goes first, at module scope, where every inlined module sees it (the widget declares
    ``let Plotly`` there, the free name the figure modules draw with).
    """
    modules = _order(entry)
    by_path = {m.path: m for m in modules}
    ids = {m.path: f"__module_{i}" for i, m in enumerate(modules)}
    parts = [
        f"// Bundled by app/widget/bundle.py from static/js; edit those files, not this string.\n{preamble}"
    ]
    *inner, main = modules
    for module in inner:
        if module.other_export:
            raise BundleError(
                f"{module.path.name}: only `export function|class|const|let` can be bundled in an imported "
                f"module, not {module.other_export!r}"
            )
        exports = ", ".join(module.exports)
        parts.append(
            f"// ---- {module.path.name}\nconst {ids[module.path]} = (() => {{\n"
            f"{_bindings(module, ids, by_path)}\n{module.body}\n"
            f"return Object.freeze({{ {exports} }});\n}})();"
        )
    entry_body = IMPORT.sub("", main.path.read_text(encoding="utf-8"))
    parts.append(f"// ---- {main.path.name}\n{_bindings(main, ids, by_path)}\n{entry_body}")
    return "\n".join(parts)
