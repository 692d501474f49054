"""The hepbench leaderboard: durable submissions, a scoring queue, rankings and a web site.

- ``db``: open a store (SQLite file or any SQLAlchemy URL), Alembic migrations
- ``submissions``: challenges, phases, submissions and participant limits
- ``queue``: durable run states, crash recovery, idempotent scoring
- ``scoring``: metric values, errors and plots of one payload
- ``ranking``: leaderboards from each challenge's ranking declaration
- ``pages``, ``web``: the same pages as a static site or a live FastAPI server
"""
