"""GCP: OAuth tokens through google-auth (`google_auth`), for Vertex AI, Firestore and Cloud Tasks."""
