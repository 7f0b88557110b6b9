"""Tables of the evaluation stage (filled in by that stage)."""
