"""Tables of the planning stage (filled in by that stage)."""
