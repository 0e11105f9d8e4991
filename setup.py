"""Computes the package list from the folder mapping in pyproject.toml.

setuptools cannot discover packages under a remapped package-dir, so we walk each mapped
folder once here instead of listing every sub-package by hand.
"""

import os
import tomllib

from setuptools import setup

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "pyproject.toml"), "rb") as f:
    MAPPING = tomllib.load(f)["tool"]["setuptools"]["package-dir"]


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
