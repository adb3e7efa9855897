"""Stories: illustrated, translated, versioned stories with their characters."""
