"""Alembic migration scripts of the leaderboard store, shipped inside the package."""
