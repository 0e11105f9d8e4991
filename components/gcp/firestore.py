"""The job store: one Firestore (Native) database, its TTL policy, the composite indexes the store's
queries need, and a daily backup schedule.

- PITR and delete protection on, `deletion_policy` ABANDON: `pulumi destroy` never drops jobs.
- TTL on `expires_at` (deployment.FIRESTORE_TTL_FIELD), a timestamp the store writes; the field is
  exempt from indexing (a monotonically growing indexed timestamp is a write hotspot, and no query
  filters on it). TTL deletion is lazy (up to a day), so the runtime filters expired jobs itself.
- Indexes: a tenant's jobs newest first (tenant + created_at desc) for GET /v1/jobs, and the
  sweeper's stale query (status + updated_at asc).
"""

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from skyrelay import deployment as contract
from skyrelay.components.gcp.services import FIRESTORE, Services

# (field, order) lists of the composite indexes, in the store's query order.
INDEXES: dict[str, tuple[tuple[str, str], ...]] = {
    "tenant-created": (("tenant", "ASCENDING"), ("created_at", "DESCENDING"), ("__name__", "DESCENDING")),
    "status-updated": (("status", "ASCENDING"), ("updated_at", "ASCENDING"), ("__name__", "ASCENDING")),
}


@dataclass
class JobStore:
    database: gcp.firestore.Database
    ttl_field: gcp.firestore.Field
    indexes: dict[str, gcp.firestore.Index]
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
        key: gcp.firestore.Index(
            f"{name}-{key}",
            project=database.project,
            database=database.name,
            collection=collection,
            query_scope="COLLECTION",
            fields=[gcp.firestore.IndexFieldArgs(field_path=f, order=o) for f, o in fields],
            opts=child,
        )
        for key, fields in INDEXES.items()
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
    return JobStore(database=database, ttl_field=ttl_field, indexes=indexes, backup_schedule=backups)
