"""applications package."""
