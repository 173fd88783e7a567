"""One module per pipeline stage, plus the process entry that runs a stage's consumer."""
