"""licences package."""
