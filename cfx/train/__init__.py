"""Training loops (`cfx train`)."""
