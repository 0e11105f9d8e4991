"""Prints the constructor arguments of a provider SDK class, to get property names right offline.

Usage: .venv/bin/python scripts/sdk_args.py pulumi_aws.sqs.Queue pulumi_aws.sqs.QueueArgs ...
"""

import importlib
import inspect
import sys

for dotted in sys.argv[1:]:
    module, _, name = dotted.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    target = getattr(cls, "_internal_init", None) or cls.__init__
    params = [p for p in inspect.signature(target).parameters if p not in ("self", "__self__", "resource_name", "opts")]
    print(f"{dotted}: {', '.join(params)}")
