"""Training data: the corpus builder, deterministic splits and datasets."""
