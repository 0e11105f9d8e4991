"""The process's one verified client TLS context, shared by every HTTPS upstream and the Lambda AWS client.

Loading the system CA bundle into a context parses every root certificate (~140 here, ~28 ms): a
third of the Lambda worker's cold-start budget, paid before its first HTTPS call. OpenSSL can
instead look roots up on demand in a hashed certificate directory (`<subject-hash>.0` links, as
`openssl rehash` / `update-ca-certificates` / `update-ca-trust` write them): building the context
then costs ~0.3 ms, and a handshake loads the one root its chain needs. The trust is the same (the
directory and the bundle are generated from the same store), so this context uses the hashed
directory when there is one and the bundle otherwise:
- `SSL_CERT_FILE` set: the operator chose a bundle (a private CA, a proxy's root): it is loaded,
  as OpenSSL would, and no directory is used;
- `SSL_CERT_DIR` set: its directories, if one holds hash links;
- else OpenSSL's default directory (`/usr/lib/ssl/certs` on Debian), else the p11-kit output of
  Fedora/RHEL/Amazon Linux 2023 (the Lambda runtimes), if it holds hash links;
- else `ssl.create_default_context()`'s default paths (bundle and directory, as OpenSSL loads them).
Verification is unchanged either way: CERT_REQUIRED and hostname checks (tests/providers/test_tls.py
proves both against a local HTTPS server).
"""

import os
import re
import sys

# Fedora, RHEL and Amazon Linux 2023 (the Lambda Python runtimes): update-ca-trust's hashed directory.
P11_KIT_HASH_DIR = "/etc/pki/ca-trust/extracted/pem/directory-hash"
_HASH_LINK = re.compile(r"^[0-9a-f]{8}\.\d+$")

_TLS: list = []  # the context, once built


def tls_context():
    """Built once per process, on first use. A plain install reuses the context aiohttp already
    built at its import; the Lambda zip defers aiohttp's (components/aws/packaging.py)."""
    if not _TLS:
        connector = sys.modules.get("aiohttp.connector")
        ctx = getattr(connector, "_SSL_CONTEXT_VERIFIED", None) if connector else None
        if ctx is None:
            ctx = new_context()
        _TLS.append(ctx)
    return _TLS[0]


def new_context(env=None):
    import ssl

    hashed = hashed_ca_dir(env)
    ctx = ssl.create_default_context(capath=hashed) if hashed else ssl.create_default_context()
    ctx.set_alpn_protocols(("http/1.1",))
    return ctx


def hashed_ca_dir(env=None) -> str | None:
    """The hashed root directory to verify against, or None to load the default bundle."""
    env = os.environ if env is None else env
    if env.get("SSL_CERT_FILE"):
        return None
    if env.get("SSL_CERT_DIR"):
        candidates = env["SSL_CERT_DIR"].split(os.pathsep)
    else:
        import ssl

        candidates = [ssl.get_default_verify_paths().openssl_capath, P11_KIT_HASH_DIR]
    return next((d for d in candidates if d and _holds_hash_links(d)), None)


def _holds_hash_links(directory: str) -> bool:
    try:
        with os.scandir(directory) as entries:
            return any(_HASH_LINK.match(e.name) for e in entries)
    except OSError:
        return False
