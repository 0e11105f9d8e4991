"""The plugin's entry point. The Python language host runs `python <this folder> ENGINE_ADDRESS`
(PulumiPlugin.yaml: runtime python, the project's virtualenv); `python -m skyrelay.provider
ENGINE_ADDRESS` does the same.

Running a folder puts it first on sys.path, where its modules would shadow top-level names
(`inputs`, `provider`, ...): it is taken off, and the package is imported as skyrelay.provider.
"""

import sys
from pathlib import Path

if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

from skyrelay.provider.host import serve  # noqa: E402

serve(sys.argv[1:])
