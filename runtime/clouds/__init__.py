"""Cloud clients, one folder per cloud: request signing, small API clients, error codes and token
caches. Stores, queues, limiters and providers import them from here; a cloud folder never imports
`platforms`, `api` or `jobs`, nor another cloud's folder (the import contracts check it)."""
