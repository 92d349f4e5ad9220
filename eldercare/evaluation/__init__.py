"""Dataset evaluations run from the CLI (`eldercare eval ...`)."""
