"""The Cloud Run target of the runtime's packaging (components/packaging.py): the source zip that
Cloud Build turns into the API and worker image (`build_config`, Google's Python buildpack on the
serverless-runtimes base image). No Docker on the user's machine, and no wheels in the zip: Cloud
Run builds on Linux x86_64 itself, so the zip ships sources and a `requirements.txt` pinned from
the project's lock file, which the buildpack installs.

The IaC stack stays out: no pulumi, no skyrelay.plan / cli / components / blueprints (the runtime
never imports them; `runtime-without-iac` in .importlinter), no simulator. Deterministic: sorted
entries, fixed timestamps, so the same sources give the same object and no rebuild.
"""

from pathlib import Path

from skyrelay.components.packaging import RUNTIME_REQUIREMENTS, Target, build

PYTHON = "3.12"
# What the runtime imports on Cloud Run (the google-cloud SDKs of its queue and batch bucket). Firestore
# is spoken over its REST API (runtime/clouds/gcp/firestore.py) and the OIDC check is stdlib RS256
# (runtime/clouds/gcp/oidc.py): google-cloud-firestore is not in the image, and gRPC (which
# google-cloud-tasks still pulls in) is not imported on the worker's push path.
CLOUD_RUN_REQUIREMENTS: tuple[str, ...] = (
    *RUNTIME_REQUIREMENTS,
    "uvicorn",
    "uvloop",  # uvicorn's event loop and HTTP parser, as `skyrelay serve` runs it (h11 + asyncio without them)
    "httptools",
    "google-auth",
    "google-cloud-tasks",
    "google-cloud-storage",
    "requests",  # google-auth's transport, for the Cloud Tasks REST client and Application Default Credentials
)
# The buildpack's start command when the container sets none (the service sets `commands` too).
PROCFILE = "web: python -m skyrelay.runtime.platforms.cloud_run --role api\n"
FORMAT_VERSION = "1"

CLOUD_RUN = Target(
    name="cloudrun",
    python=PYTHON,
    requirements=CLOUD_RUN_REQUIREMENTS,
    platform=None,  # requirements.txt, installed by the build
    extra_files=(("Procfile", PROCFILE),),
    prebuilt_env="SKYRELAY_CLOUDRUN_ZIP",
    format_version=FORMAT_VERSION,
)


def build_source_zip(build_dir: str | Path | None = None) -> Path:
    """Builds (or reuses) the Cloud Run source zip and returns its path."""
    return build(CLOUD_RUN, build_dir)


def default_source_path() -> str:
    return str(build_source_zip())
