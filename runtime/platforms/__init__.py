"""Thin adapters that run the API and the job workers on a platform (local, Lambda, Functions, Cloud Run)."""
