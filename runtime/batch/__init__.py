"""Batch work: the OpenAI Batch API and `mode: batch` jobs, sent to the providers' batch APIs at their
batch price (docs/batch.md). Cloud-neutral: state in the job store (runtime/stores), content in object
storage (runtime/storage), provider calls through the batch translators (runtime/providers/*/batch.py).

    records.py   the batcher's records (files, batches, groups, claims) and chunk keys
    lines.py     per-line validation of a batch file (the error names the line)
    intake.py    batch work in: chunks of JSONL per deployment under `pending/`
    service.py   the API's logic: files, batches, single batch jobs
    batcher.py   one tick: form groups (size/age/minimum/quota), fall back, advance every open group
    groups.py    one group's steps: claim, write input, submit, poll, apply results (each once)
    finalize.py  a batch's output and error files, once all its groups are done
    transport.py signing and sending the translators' calls
"""
