"""GCP rules: Cloud Run, Cloud Tasks, Firestore. Imports nothing from the other clouds."""

from skyrelay.policies.gcp import cloudrun, cloudtasks, firestore, secrets, stack_rules

POLICIES = [*cloudrun.POLICIES, *cloudtasks.POLICIES, *firestore.POLICIES, *secrets.POLICIES, *stack_rules.POLICIES]
