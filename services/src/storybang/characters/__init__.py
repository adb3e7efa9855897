"""Characters: people's characters with their photo, generated portrait and Character Card data."""
