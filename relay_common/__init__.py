"""Pure helpers shared by the API, the workflows and the activities (no I/O, no Temporal, no app)."""
