"""StoryBang: write illustrated stories with AI."""

__version__ = "0.1.0"
