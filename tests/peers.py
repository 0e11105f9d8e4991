"""Loopback peers for the tests: a real server on a free port, waited for until it answers, stopped at
exit, started once per test session.

    url = peers.moto()      # moto server (DynamoDB, SQS, Secrets Manager, ...)
    url = peers.redis()     # redis-server
    port = peers.free_port()
    peer = peers.start("name", [cmd..., str(port)], port=port, ready=lambda: ...)   # any other peer

One rule for a missing peer: `make test` installs every peer (scripts/system-deps.sh, the lock file),
so a peer that is not there is a broken machine and the test needing it FAILS with what to install.
No test skips for a missing peer.
"""

import atexit
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

_started: dict[str, "Peer"] = {}


class PeerMissing(RuntimeError):
    """A peer the test needs is not installed or did not start."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) == 0


def http_ok(url: str) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return True
        except OSError:
            return False

    return probe


def executable(name: str, hint: str) -> str:
    """The path of `name` (the venv's bin first), or PeerMissing saying how to install it."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if not found:
        raise PeerMissing(f"{name} is not installed: {hint}")
    return found


class Peer:
    def __init__(self, name: str, proc: subprocess.Popen, port: int, url: str):
        self.name, self.proc, self.port, self.url = name, proc, port, url

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start(name: str, argv: list[str], port: int, ready: Callable[[], bool] | None = None, *,
          url: str | None = None, timeout_s: float = 60.0, env: dict | None = None, cwd=None) -> Peer:
    """Starts `argv` (which listens on `port`) and waits until `ready()` (default: the port accepts).
    Its output goes to a log file (a pipe nobody reads would fill and block a chatty server)."""
    import tempfile

    fd, log_path = tempfile.mkstemp(prefix=f"skyrelay-{name}-", suffix=".log")
    with os.fdopen(fd, "wb") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                                env={**os.environ, **(env or {})})
    ready = ready or (lambda: port_open(port))
    deadline = time.monotonic() + timeout_s
    while not ready():
        if proc.poll() is not None:
            tail = Path(log_path).read_text(errors="replace")[-2000:]
            raise PeerMissing(f"{name} exited with {proc.returncode} before it was ready ({log_path}): {tail}")
        if time.monotonic() > deadline:
            proc.kill()
            raise PeerMissing(f"{name} did not answer on port {port} within {timeout_s:.0f} s ({log_path})")
        time.sleep(0.05)
    peer = Peer(name, proc, port, url or f"http://127.0.0.1:{port}")
    atexit.register(peer.stop)
    return peer


def once(name: str, make: Callable[[], Peer]) -> Peer:
    """The session's one peer of that name, started on first use."""
    if name not in _started:
        _started[name] = make()
    return _started[name]


def moto() -> str:
    """A moto server for every AWS service the tests call; test credentials in the environment."""

    def make() -> Peer:
        exe = executable("moto_server", "install the dev extras (moto[server]) from the lock file: make install")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        return start("moto_server", [exe, "-H", "127.0.0.1", "-p", str(port)], port, http_ok(url + "/moto-api/"))

    peer = once("moto", make)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return peer.url


def redis() -> str:
    """A redis-server with no persistence; returns its redis:// URL (database 0)."""

    def make() -> Peer:
        exe = executable("redis-server", "run scripts/system-deps.sh (Debian package redis-server)")
        port = free_port()
        import tempfile

        workdir = tempfile.mkdtemp(prefix="skyrelay-redis-")
        peer = start("redis-server", [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", workdir], port)
        peer.url = f"redis://127.0.0.1:{port}/0"
        return peer

    return once("redis", make).url


# ---- Azure (issue 11) ----
COSMOS_EMULATOR_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
NODE_PEERS = Path(__file__).resolve().parent / "node"


def cosmos() -> str:
    """@vercel/cosmosdb-server (tests/node, installed by scripts/node-peers.sh) behind its keep-alive
    HTTPS launcher; returns the account endpoint. The key is COSMOS_EMULATOR_KEY, the certificate
    self-signed."""

    def make() -> Peer:
        node = executable("node", "install Node.js 20 (Debian package nodejs)")
        launcher = NODE_PEERS / "cosmos-server.js"
        if not (NODE_PEERS / "node_modules" / "@vercel" / "cosmosdb-server").is_dir():
            raise PeerMissing("@vercel/cosmosdb-server is not installed: run scripts/node-peers.sh (make test does)")
        port = free_port()
        return start("cosmosdb-server", [node, str(launcher), "127.0.0.1", str(port)], port,
                     url=f"https://127.0.0.1:{port}")

    return once("cosmos", make).url


class ServiceBusPeer:
    """The in-project Service Bus peer (tests/wirepeers/servicebus.py) and its control port."""

    def __init__(self, peer: Peer, control_port: int):
        self.peer, self.control = peer, f"http://127.0.0.1:{control_port}"
        self.connection_string = (f"Endpoint=sb://127.0.0.1:{peer.port};SharedAccessKeyName=k;"
                                  "SharedAccessKey=v;UseDevelopmentEmulator=true")

    def create_queue(self, name: str, max_delivery_count: int = 10, lock_duration_s: float = 60.0,
                     default_ttl_s: float | None = None) -> str:
        import json

        body = json.dumps({"max_delivery_count": max_delivery_count, "lock_duration_s": lock_duration_s,
                           "default_ttl_s": default_ttl_s}).encode()
        urllib.request.urlopen(urllib.request.Request(f"{self.control}/queues/{name}", body, method="PUT"),
                               timeout=5).close()
        return name

    def counts(self, name: str) -> dict:
        import json

        with urllib.request.urlopen(f"{self.control}/queues/{name}", timeout=5) as r:
            return json.loads(r.read())


def servicebus() -> ServiceBusPeer:
    def make() -> Peer:
        try:
            import proton  # noqa: F401
        except ImportError:
            raise PeerMissing("python-qpid-proton is not installed: install the dev extras (make install)") from None

        port, control = free_port(), free_port()
        peer = start("servicebus", [sys.executable, "-m", "tests.wirepeers.servicebus", str(port), str(control)],
                     port, http_ok(f"http://127.0.0.1:{control}/healthz"), cwd=str(Path(__file__).resolve().parents[1]))
        peer.control_port = control
        return peer

    peer = once("servicebus", make)
    return ServiceBusPeer(peer, peer.control_port)


# ---- batch storage (issue 13) ----
# Azurite's documented, public development account (the same in every Azurite install).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def node_package(script: str) -> str:
    """A script of an npm peer installed from tests/node (scripts/node-peers.sh, which `make test` runs)."""
    path = NODE_PEERS / "node_modules" / script
    if not path.exists():
        raise PeerMissing(f"{path} is missing: run scripts/node-peers.sh (npm ci in tests/node)")
    return str(path)


def azurite() -> str:
    """Azurite's Blob service only (npm azurite 3.35: node 20), no telemetry, in memory; returns its
    connection string (the public development account)."""

    def make() -> Peer:
        node = executable("node", "install Node.js 20 (Debian package nodejs)")
        script = node_package("azurite/dist/src/blob/main.js")
        port = free_port()
        peer = start("azurite", [node, script, "--silent", "--disableTelemetry", "--inMemoryPersistence",
                                 "--blobHost", "127.0.0.1", "--blobPort", str(port), "--skipApiVersionCheck",
                                 "--loose"], port)
        peer.url = (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
                    f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};")
        return peer

    return once("azurite", make).url


def gcs() -> str:
    """gcp-storage-emulator (PyPI), in memory; returns its endpoint URL."""

    def make() -> Peer:
        exe = executable("gcp-storage-emulator", "install the dev extras (gcp-storage-emulator) from the lock file")
        port = free_port()
        return start("gcp-storage-emulator", [exe, "start", "--host=127.0.0.1", f"--port={port}", "--in-memory"],
                     port)

    return once("gcs", make).url


# ---- GCP (issue 12) ----
FIRESTORE_JAR = "platform/cloud-firestore-emulator/cloud-firestore-emulator.jar"
GCLOUD_ROOTS = ("/usr/lib/google-cloud-sdk", "/usr/share/google-cloud-sdk", "/opt/google-cloud-sdk",
                str(Path.home() / "google-cloud-sdk"))


def firestore_jar() -> str:
    """The gcloud SDK's Firestore emulator jar (component cloud-firestore-emulator), found under the
    SDK's platform folder (CLOUDSDK_ROOT_DIR, the Debian package's /usr/lib/google-cloud-sdk, ...)."""
    roots = [os.environ["CLOUDSDK_ROOT_DIR"]] if os.environ.get("CLOUDSDK_ROOT_DIR") else []
    gcloud = shutil.which("gcloud")
    if gcloud:
        roots.append(str(Path(os.path.realpath(gcloud)).parents[1]))
    for root in [*roots, *GCLOUD_ROOTS]:
        jar = Path(root) / FIRESTORE_JAR
        if jar.is_file():
            return str(jar)
    raise PeerMissing("the Firestore emulator jar is missing: install the Debian package "
                      "google-cloud-cli-firestore-emulator (scripts/system-deps.sh), or set CLOUDSDK_ROOT_DIR "
                      f"to a gcloud SDK holding {FIRESTORE_JAR}")


def firestore() -> str:
    """The gcloud Firestore emulator (Java 17), in memory; returns its host:port and sets
    FIRESTORE_EMULATOR_HOST (google-cloud-firestore then talks to it without credentials). Every test
    uses a project or collection of its own, so one emulator serves the session."""

    def make() -> Peer:
        java = executable("java", "install a Java 17 runtime (Debian package openjdk-17-jre-headless; "
                                  "scripts/system-deps.sh)")
        jar = firestore_jar()
        port = free_port()
        peer = start("firestore", [java, "-Duser.language=en", "-cp", jar,
                                   "com.google.cloud.datastore.emulator.firestore.CloudFirestore", "start",
                                   "--host=127.0.0.1", f"--port={port}"], port,
                     http_ok(f"http://127.0.0.1:{port}/"))
        peer.url = f"127.0.0.1:{port}"
        return peer

    host = once("firestore", make).url
    os.environ["FIRESTORE_EMULATOR_HOST"] = host
    return host


class CloudTasksPeer:
    """The in-project Cloud Tasks peer (tests/wirepeers/cloudtasks.py): its REST endpoint, the JWKS it
    signs pushes with, and its control calls."""

    def __init__(self, peer: Peer):
        self.peer, self.url = peer, peer.url
        self.endpoint = f"127.0.0.1:{peer.port}"  # SKYRELAY_TASKS_ENDPOINT
        self.certs_url = f"{peer.url}/oauth2/v3/certs"  # SKYRELAY_OIDC_CERTS_URL

    def _call(self, path: str, doc: dict | None = None) -> dict:
        import json

        data = json.dumps(doc).encode() if doc is not None else None
        req = urllib.request.Request(self.url + path, data, {"Content-Type": "application/json"},
                                     method="POST" if data is not None else "GET")
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    def client(self):
        """The real google-cloud-tasks client on this peer (REST transport, anonymous credentials)."""
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import tasks_v2

        return tasks_v2.CloudTasksClient(transport="rest", credentials=AnonymousCredentials(),
                                         client_options=ClientOptions(api_endpoint=f"http://{self.endpoint}"))

    def create_queue(self, project: str, location: str, queue_id: str, max_attempts: int,
                     min_backoff_s: float = 0.1, max_backoff_s: float = 1.0, max_doublings: int = 3,
                     max_concurrent: int = 1000, rate: float = 500.0) -> str:
        """A queue as AsyncJobs deploys it (retry config, rate limits), made through the real client."""
        from google.cloud import tasks_v2
        from google.protobuf import duration_pb2

        def d(s: float):
            return duration_pb2.Duration(seconds=int(s), nanos=int(round((s % 1) * 1e9)))

        parent = f"projects/{project}/locations/{location}"
        queue = tasks_v2.Queue(name=f"{parent}/queues/{queue_id}", retry_config=tasks_v2.RetryConfig(
            max_attempts=max_attempts, min_backoff=d(min_backoff_s), max_backoff=d(max_backoff_s),
            max_doublings=max_doublings), rate_limits=tasks_v2.RateLimits(
            max_dispatches_per_second=rate, max_concurrent_dispatches=max_concurrent))
        return self.client().create_queue(parent=parent, queue=queue).name

    def stats(self, queue: str) -> dict:
        return self._call(f"/control/queues/{queue}")

    def token(self, aud: str, email: str, exp_in_s: float = 3600.0) -> str:
        return self._call("/control/token", {"aud": aud, "email": email, "exp_in_s": exp_in_s})["token"]

    def push_again(self, task: str, times: int = 2) -> list:
        return self._call("/control/push", {"task": task, "times": times})["statuses"]


def cloudtasks() -> CloudTasksPeer:
    def make() -> Peer:
        try:
            import jwt  # noqa: F401
        except ImportError:
            raise PeerMissing("PyJWT is not installed: install the dev extras (make install)") from None
        port = free_port()
        return start("cloudtasks", [sys.executable, "-m", "tests.wirepeers.cloudtasks", str(port)], port,
                     http_ok(f"http://127.0.0.1:{port}/oauth2/v3/certs"),
                     cwd=str(Path(__file__).resolve().parents[1]))

    return CloudTasksPeer(once("cloudtasks", make))
