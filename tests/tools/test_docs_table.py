"""The parameters x providers tables in docs/router.md and docs/providers.md say what the code does:
each cell's first word is runtime/providers/support.py's verdict for that provider and parameter."""

import re

import pytest

from skyrelay.runtime.providers.support import PARAMETERS, TABLE
from tests.servekit import ROOT

KINDS = ("bedrock", "azure_openai", "vertex", "openai_compat")


@pytest.mark.parametrize("doc", ["docs/router.md", "docs/providers.md"])
def test_the_table_matches_the_code(doc):
    rows = {}
    for line in (ROOT / doc).read_text().splitlines():
        m = re.match(r"^\| `(\w+)` \|(.*)\|$", line)
        if m and m.group(1) in PARAMETERS:
            rows[m.group(1)] = [c.strip() for c in m.group(2).split("|")]
    assert sorted(rows) == sorted(PARAMETERS), doc
    for param, cells in rows.items():
        words = [re.match(r"[a-z]+", c).group(0) for c in cells]
        assert words == [TABLE[k][param] for k in KINDS], (doc, param, cells)
