"""The Functions zip (components/azure/packaging.py) as the cold-start benchmark's package figure:
its size, its entries, the largest top-level packages (compressed), and how long a cached build takes.
Figures, not a test.

    .venv/bin/python bench/functions_package.py [--json]
"""

import argparse
import json
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from skyrelay.components.azure import packaging

    t0 = time.perf_counter()
    path = packaging.build_functions_zip(120, 16, 60)  # azure-dev's host settings (cached after the first)
    cached_s = time.perf_counter() - t0
    tops: Counter = Counter()
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        for i in infos:
            tops[i.filename.split("/")[0]] += i.compress_size
    doc = {
        "zip": str(path.name),
        "bytes": path.stat().st_size,
        "entries": len(infos),
        "uncompressed_bytes": sum(i.file_size for i in infos),
        "python": packaging.PYTHON,
        "platform": packaging.PLATFORM,
        "largest_compressed": dict(tops.most_common(8)),
        "cached_build_s": round(cached_s, 3),
    }
    if args.json:
        print(json.dumps(doc, indent=1))
        return
    print(f"{doc['zip']}: {doc['bytes']:,} bytes ({doc['uncompressed_bytes']:,} unpacked), {doc['entries']:,} entries, "
          f"CPython {doc['python']} {doc['platform']}; cached build {doc['cached_build_s']} s")
    for name, size in doc["largest_compressed"].items():
        print(f"  {name:<28} {size:>12,}")


if __name__ == "__main__":
    main()
