"""Fault wrappers around real adapters, for the platform tests (Lambda, Functions, Cloud Run)."""


class BrokenReads:
    """A job store whose reads of one job fail: the platform's handler raises for that job's message,
    and the test sees what the platform does with the failure (a batch item failure, an abandon...)."""

    def __init__(self, store, broken_id):
        self.store, self.broken_id = store, broken_id

    async def get(self, job_id, tenant=None):
        if job_id == self.broken_id:
            raise RuntimeError("read failed")
        return await self.store.get(job_id, tenant)

    def __getattr__(self, name):
        return getattr(self.store, name)
