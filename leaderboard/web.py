"""``hepbench leaderboard serve``: the leaderboard as a FastAPI application.

Every route answers from ``pages.py``, the same code that writes the static site, at the same
paths (so links are identical live and static).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

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
    static_file,
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

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        return _respond(lambda: static_file(name))

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

    @app.post(
        "/api/challenges/{challenge}/{phase}/submissions",
        summary="Submit (Authorization: Bearer TOKEN; body: answers or a code bundle; ?method=NAME&format=csv|json|tar.gz|zip|tar)",
        status_code=201,
    )
    async def api_submit(
        challenge: str, phase: str, request: Request, method: str, format: str = "csv", description: str = ""
    ) -> JSONResponse:
        from .identities import AuthenticationError, authenticate
        from .phase_settings import PhaseClosedError
        from .submissions import SubmissionLimitError, check_open, submit
        from .uploads import FORMATS, UploadTooLarge, receive

        token = _bearer(request)
        try:
            identity = authenticate(store, token)
        except AuthenticationError as err:
            raise HTTPException(status_code=403 if "revoked" in str(err) else 401, detail=str(err)) from None
        if format not in FORMATS:
            raise HTTPException(status_code=422, detail=f"format must be one of {FORMATS}, got {format!r}")
        try:  # before reading the body: a closed phase takes nothing
            check_open(store, challenge, phase)
        except PhaseClosedError as err:
            raise HTTPException(status_code=403, detail=str(err)) from None
        except (ValueError, KeyError) as err:
            raise HTTPException(status_code=422, detail=str(err).strip("'\"")) from None
        try:
            upload = await receive(store, request.stream(), f".{format}")
        except UploadTooLarge as err:
            raise HTTPException(status_code=413, detail=str(err)) from None
        try:
            result = submit(
                store, challenge, phase, identity.name, method, upload.path, description=description, token=token
            )
        except SubmissionLimitError as err:
            raise HTTPException(status_code=429, detail=str(err)) from None
        except PhaseClosedError as err:  # it closed while the body arrived
            raise HTTPException(status_code=403, detail=str(err)) from None
        except AuthenticationError as err:
            raise HTTPException(status_code=403, detail=str(err)) from None
        except (ValueError, FileNotFoundError, KeyError) as err:
            raise HTTPException(status_code=422, detail=str(err).replace(str(upload.path), "the upload")) from None
        finally:
            upload.path.unlink(missing_ok=True)  # kept, if accepted, under its sha256 by submit()
        return JSONResponse(
            {"submission": result.submission_id, "created": result.created, "sha256": upload.sha256},
            status_code=201 if result.created else 200,
        )

    @app.get("/api/me/submissions", summary="Your own submissions and their states (Authorization: Bearer TOKEN)")
    def api_mine(request: Request) -> JSONResponse:
        from .identities import AuthenticationError, authenticate
        from .pages import my_submissions

        try:
            identity = authenticate(store, _bearer(request))
        except AuthenticationError as err:
            raise HTTPException(status_code=401, detail=str(err)) from None
        return JSONResponse(my_submissions(store, identity.key))

    return app


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(
            status_code=401, detail="send Authorization: Bearer TOKEN", headers={"WWW-Authenticate": "Bearer"}
        )
    return token.strip()
