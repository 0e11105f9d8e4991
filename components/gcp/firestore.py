"""The job store: one Firestore (Native) database, its TTL policy, the composite indexes the store's
queries need, and a daily backup schedule.

- PITR and delete protection on, `deletion_policy` ABANDON: `pulumi destroy` never drops jobs.
- TTL on `expires_at` (deployment.FIRESTORE_TTL_FIELD), a timestamp the store writes; the field is
  exempt from indexing (a monotonically growing indexed timestamp is a write hotspot, and no query
  filters on it). TTL deletion is lazy (up to a day), so the runtime filters expired jobs itself.
- Indexes: a tenant's jobs newest first (tenant + created_at desc, with or without status) for
  GET /v1/jobs, and the sweeper's and replay's query (status + updated_at asc); `body` and the
  limiter's `state` are exempt from indexing.
"""

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from skyrelay import deployment as contract
from skyrelay.components.gcp.services import FIRESTORE, Services

# The composite indexes the store's queries need and the fields nothing queries on, as the runtime's
# store declares them in the deployment contract (FIRESTORE_INDEXES, FIRESTORE_UNINDEXED_FIELDS);
# these copies are the same values, for a contract that predates them.
_INDEXES = (
    (("type", "ASCENDING"), ("tenant", "ASCENDING"), ("created_at", "DESCENDING"), ("id", "DESCENDING")),
    (("type", "ASCENDING"), ("tenant", "ASCENDING"), ("status", "ASCENDING"), ("created_at", "DESCENDING"),
     ("id", "DESCENDING")),
    (("type", "ASCENDING"), ("status", "ASCENDING"), ("updated_at", "ASCENDING"), ("id", "ASCENDING")),
)
INDEXES: tuple[tuple[tuple[str, str], ...], ...] = getattr(contract, "FIRESTORE_INDEXES", _INDEXES)
UNINDEXED_FIELDS: tuple[str, ...] = getattr(contract, "FIRESTORE_UNINDEXED_FIELDS", ("body", "state"))


def index_key(fields: tuple[tuple[str, str], ...]) -> str:
    """A resource name for an index: its fields after `type`, e.g. tenant-created-at-id."""
    return "-".join(f.replace("_", "-") for f, _ in fields if f != "type")


@dataclass
class JobStore:
    database: gcp.firestore.Database
    ttl_field: gcp.firestore.Field
    indexes: dict[str, gcp.firestore.Index]
    unindexed: dict[str, gcp.firestore.Field]
    backup_schedule: gcp.firestore.BackupSchedule | None


def database_id(name: str) -> str:
    """A named database id: 4-63 characters, lowercase letters, digits and hyphens, letter first."""
    text = "".join(c if c.isalnum() else "-" for c in f"{name}-jobs".lower()).strip("-")
    return (text if text[:1].isalpha() else "db-" + text)[:63].rstrip("-")


def job_store(owner: pulumi.Resource, name: str, *, location_id: str, project: pulumi.Input[str] | None,
              settings: dict[str, Any], services: Services) -> JobStore:
    database = gcp.firestore.Database(
        f"{name}-jobs",
        name=database_id(name),
        project=project,
        location_id=location_id,
        type=settings["firestore_type"],
        concurrency_mode=settings["firestore_concurrency_mode"],
        point_in_time_recovery_enablement="POINT_IN_TIME_RECOVERY_ENABLED" if settings["firestore_pitr"]
        else "POINT_IN_TIME_RECOVERY_DISABLED",
        delete_protection_state="DELETE_PROTECTION_ENABLED" if settings["firestore_delete_protection"]
        else "DELETE_PROTECTION_DISABLED",
        deletion_policy=settings["firestore_deletion_policy"],
        opts=services.after(FIRESTORE),
    )
    child = pulumi.ResourceOptions(parent=owner)
    collection = settings["firestore_collection"]
    ttl_field = gcp.firestore.Field(
        f"{name}-ttl",
        project=database.project,
        database=database.name,
        collection=collection,
        field=contract.FIRESTORE_TTL_FIELD,
        ttl_config=gcp.firestore.FieldTtlConfigArgs(),
        index_config=gcp.firestore.FieldIndexConfigArgs(indexes=[]),  # exempt from single-field indexing
        opts=child,
    )
    indexes = {
        index_key(fields): gcp.firestore.Index(
            f"{name}-index-{index_key(fields)}",
            project=database.project,
            database=database.name,
            collection=collection,
            query_scope="COLLECTION",
            fields=[gcp.firestore.IndexFieldArgs(field_path=f, order=o) for f, o in fields],
            opts=child,
        )
        for fields in INDEXES
    }
    # Large or opaque fields nothing filters on: exempt from single-field indexing (cost, write rate).
    unindexed = {
        field: gcp.firestore.Field(
            f"{name}-unindexed-{field}", project=database.project, database=database.name, collection=collection,
            field=field, index_config=gcp.firestore.FieldIndexConfigArgs(indexes=[]), opts=child,
        )
        for field in UNINDEXED_FIELDS
    }
    backups = None
    if settings["firestore_backup_retention"]:
        backups = gcp.firestore.BackupSchedule(
            f"{name}-daily-backup",
            project=database.project,
            database=database.name,
            retention=settings["firestore_backup_retention"],
            daily_recurrence=gcp.firestore.BackupScheduleDailyRecurrenceArgs(),
            opts=child,
        )
    return JobStore(database=database, ttl_field=ttl_field, indexes=indexes, unindexed=unindexed,
                    backup_schedule=backups)
