"""Revisions of the leaderboard schema, oldest first."""
