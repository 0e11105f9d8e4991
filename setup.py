"""Computes the package list from the folder mapping in pyproject.toml.

setuptools cannot discover packages under a remapped package-dir, so we walk each mapped
folder once here instead of listing every sub-package by hand.
"""

import os

from setuptools import setup

MAPPING = {
    "skyrelay": "skyrelay",
    "skyrelay.components": "components",
    "skyrelay.blueprints": "blueprints",
    "skyrelay.policies": "policies",
    "skyrelay.runtime": "runtime",
}


def _packages() -> list[str]:
    found = []
    for package, folder in MAPPING.items():
        for root, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if not d.startswith((".", "__"))]
            if "__init__.py" in files:
                rel = os.path.relpath(root, folder)
                found.append(package if rel == "." else package + "." + rel.replace(os.sep, "."))
    return sorted(found)


setup(packages=_packages(), package_data={"": ["*.yaml", "*.json", "*.md"]})
