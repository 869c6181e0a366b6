"""app/widget/bundle.py: an import graph rewritten into one ES module that behaves as the files do in Node,
and every form it cannot rewrite refused with the file named (never bundled wrongly)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from app.widget.bundle import BundleError, bundle

NODE = shutil.which("node")
STATIC_JS = Path(__file__).resolve().parents[2] / "static" / "js"


def run_module(source: str, tmp_path: Path, script: str) -> object:
    """Import ``source`` as an ES module in Node and print ``script``'s JSON value (with ``m`` the module)."""
    if NODE is None:
        pytest.skip("node not installed")
    path = tmp_path / "bundled.mjs"
    path.write_text(source, encoding="utf-8")
    code = f"import * as m from {json.dumps(path.as_uri())}; console.log(JSON.stringify({script}));"
    out = subprocess.run(
        [NODE, "--input-type=module", "-e", code], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root / next(iter(files))


def test_modules_keep_their_own_top_level_names_and_imports_resolve(tmp_path: Path) -> None:
    entry = write(
        tmp_path,
        {
            "main.js": 'import { twice } from "./lib/a.js";\nimport { SCALE as S, label } from "./b.js";\n'
            "const MARGIN = 100;\nexport const result = [twice(2), S, label(), MARGIN];\n"
            "export default { S };\n",
            "lib/a.js": 'import { SCALE } from "../b.js";\nconst MARGIN = 1;\n'
            "export function twice(v) {\n  return 2 * v * SCALE + MARGIN;\n}\n",
            "b.js": "const MARGIN = 7;\nexport const SCALE = 3;\nexport class Thing {}\n"
            "export function label() {\n  return `m${MARGIN}`;\n}\n",
        },
    )
    source = bundle(entry, preamble="let Plotly;")
    assert source.count("const SCALE = 3") == 1  # b.js once, although two modules import it
    assert run_module(source, tmp_path, "[m.result, m.default.S]") == [[13, 3, "m7", 100], 3]


def test_the_widget_bundle_evaluates_with_the_figure_modules_inlined(tmp_path: Path) -> None:
    source = bundle(STATIC_JS / "widget.js", preamble="let Plotly;")
    for name in ("plot.js", "netplot.js", "runs.js", "theme.js", "i18n.js"):
        assert f"// ---- {name}" in source
    assert 'from "./' not in source
    out = run_module(source, tmp_path, "[Object.keys(m).sort(), typeof m.default.render]")
    assert out == [["default"], "function"]


@pytest.mark.parametrize(
    ("files", "words"),
    [
        ({"main.js": 'import x from "./a.js";\n', "a.js": ""}, "only `import { … } from"),
        ({"main.js": 'import "./a.js";\n', "a.js": ""}, "only `import { … } from"),
        ({"main.js": 'import { x } from "lodash";\n'}, "only relative imports"),
        ({"main.js": 'import { x } from "./a.js";\n', "a.js": "export default 1;\n"}, "export default 1"),
        ({"main.js": 'import { x } from "./a.js";\n', "a.js": "export const y = 1;\n"}, "does not export"),
        ({"main.js": 'import { x } from "./a.js";\n', "a.js": "export let x = 1;\n"}, "the let binding 'x'"),
        ({"main.js": 'import { x } from "./missing.js";\n'}, "missing.js, which does not exist"),
        (
            {
                "main.js": 'import { x } from "./a.js";\n',
                "a.js": 'import { y } from "./b.js";\nexport const x = 1;\n',
                "b.js": 'import { x } from "./a.js";\nexport const y = 2;\n',
            },
            "import cycle: a.js → b.js → a.js",
        ),
    ],
)  # fmt: skip
def test_forms_it_cannot_rewrite_are_refused_naming_the_file(tmp_path: Path, files: dict, words: str) -> None:
    with pytest.raises(BundleError) as caught:
        bundle(write(tmp_path, files))
    assert words in str(caught.value)
