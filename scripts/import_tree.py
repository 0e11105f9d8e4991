"""Lays out the skyrelay namespace as one folder tree under build/import-tree/ for import-linter.

Our top-level folders (components/, runtime/, ...) map into `skyrelay.*` through package-dir, which
Python resolves but import-linter's static graph builder does not: it walks the folder of the root
package only. Mirroring the .py files into the tree the namespace describes lets it see every module.
"""

import shutil
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAPPING = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]

TARGET = ROOT / "build" / "import-tree"


def main() -> None:
    shutil.rmtree(TARGET, ignore_errors=True)
    for package, folder in MAPPING.items():
        dest = TARGET.joinpath(*package.split("."))
        for src in (ROOT / folder).rglob("*.py"):
            rel = src.relative_to(ROOT / folder)
            if any(part.startswith((".", "__pycache__")) for part in rel.parts):
                continue
            if package == "skyrelay" and rel.parts[0] in {v for v in MAPPING.values() if v != "skyrelay"}:
                continue
            out = dest / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, out)
    print(TARGET)


if __name__ == "__main__":
    main()
