"""Tables of the engagement stage (filled in by that stage)."""
