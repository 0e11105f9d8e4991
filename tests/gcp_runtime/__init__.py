"""The GCP runtime (issue 12) over real peers: the Firestore emulator and the in-project Cloud Tasks peer."""
