"""materials package."""
