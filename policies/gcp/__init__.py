"""GCP rules: Cloud Run, Cloud Tasks, Firestore, Cloud Storage. Imports nothing from the other clouds."""

from skyrelay.policies.gcp import cloudrun, cloudtasks, firestore, secrets, stack_rules, storage

POLICIES = [*cloudrun.POLICIES, *cloudtasks.POLICIES, *firestore.POLICIES, *secrets.POLICIES, *storage.POLICIES,
            *stack_rules.POLICIES]
