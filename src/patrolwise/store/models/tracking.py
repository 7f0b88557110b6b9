"""Tables of the tracking stage (filled in by that stage)."""
