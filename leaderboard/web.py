"""``hepbench leaderboard serve``: the leaderboard as a FastAPI application.

Every route answers from ``pages.py``, the same code that writes the static site, at the same
paths (so links are identical live and static).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, HTTPException
from fastapi.responses import RedirectResponse, Response

from .db import Store
from .pages import (
    NotFound,
    Page,
    artefact_file,
    challenges_json,
    index_page,
    phase_csv,
    phase_json,
    phase_page,
    stylesheet,
    submission_json,
    submission_page,
)


def _respond(make: Callable[[], Page], filename: str | None = None) -> Response:
    try:
        page = make()
    except NotFound as err:
        raise HTTPException(status_code=404, detail=str(err)) from None
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'} if filename else None
    return Response(page.content, media_type=page.media_type, headers=headers)


def create_app(store: Store) -> FastAPI:
    """The web application of an open store."""
    app = FastAPI(title="hepbench leaderboard", docs_url="/api/docs", openapi_url="/api/openapi.json", redoc_url=None)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("index.html")

    @app.get("/index.html", include_in_schema=False)
    def index() -> Response:
        return _respond(lambda: index_page(store))

    @app.get("/static/style.css", include_in_schema=False)
    def style() -> Response:
        return _respond(stylesheet)

    @app.get("/challenges/{challenge}/{phase}.html", include_in_schema=False)
    def phase_html(challenge: str, phase: str) -> Response:
        return _respond(lambda: phase_page(store, challenge, phase))

    @app.get("/challenges/{challenge}/{phase}.csv", summary="A phase's leaderboard as CSV")
    def phase_download_csv(challenge: str, phase: str) -> Response:
        return _respond(lambda: phase_csv(store, challenge, phase), f"{challenge}-{phase}.csv")

    @app.get("/challenges/{challenge}/{phase}.json", include_in_schema=False)
    def phase_download_json(challenge: str, phase: str) -> Response:
        return _respond(lambda: phase_json(store, challenge, phase))

    @app.get("/submissions/{submission_id}.html", include_in_schema=False)
    def submission_html(submission_id: int) -> Response:
        return _respond(lambda: submission_page(store, submission_id))

    @app.get("/submissions/{submission_id}/{name}", summary="A plot or JSON file of a submission")
    def artefact(submission_id: int, name: str) -> Response:
        return _respond(lambda: artefact_file(store, submission_id, name))

    @app.get("/api/challenges.json", summary="Challenges and their phases")
    def api_challenges() -> Response:
        return _respond(lambda: challenges_json(store))

    @app.get("/api/challenges/{challenge}/{phase}.json", summary="A phase's leaderboard")
    def api_phase(challenge: str, phase: str) -> Response:
        return _respond(lambda: phase_json(store, challenge, phase))

    @app.get("/api/submissions/{submission_id}.json", summary="One submission with its metrics")
    def api_submission(submission_id: int) -> Response:
        return _respond(lambda: submission_json(store, submission_id))

    return app
