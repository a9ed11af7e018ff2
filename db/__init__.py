"""Database models, repositories and migrations."""
