"""Every page, download and API document of the leaderboard, as (bytes, media type).

``hepbench leaderboard serve`` (``web.py``) and ``hepbench leaderboard build`` (``site.py``)
both answer from here, so the live and the static site are the same pages at the same paths:

- ``index.html``: the challenges and their phases
- ``challenges/{challenge}/{phase}.html`` (``.csv``, ``.json``): a phase's leaderboard
- ``submissions/{id}.html``, ``submissions/{id}/{artefact}``: one submission, its metrics and plots
- ``api/challenges.json``, ``api/challenges/{challenge}/{phase}.json``, ``api/submissions/{id}.json``
- ``static/style.css``, ``static/sortable.js`` (sortable columns, no dependencies)

Links are relative, so the static site works from any folder of any web host (or from disk).
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import __version__, challenges
from ..challenges import Challenge
from .db import Store
from .models import SCORED, SubmissionRow
from .ranking import Board, Entry, board, phases

HERE = Path(__file__).resolve().parent
HTML, CSV, JSON, CSS, JS, PNG = (
    "text/html; charset=utf-8",
    "text/csv; charset=utf-8",
    "application/json",
    "text/css",
    "text/javascript; charset=utf-8",
    "image/png",
)
STATIC = {"style.css": CSS, "sortable.js": JS}
"""The files under ``static/`` that pages link, with their media types."""


class NotFound(LookupError):
    """No such page (a web server answers 404)."""


@dataclass(frozen=True)
class Page:
    content: bytes
    media_type: str


def _fmt(value: float | None, fmt: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return format(int(round(value)), fmt) if fmt == "d" else format(value, fmt)


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _fmt
    env.globals["version"] = __version__
    return env


_ENV = _env()


def _render(template: str, root: str, **context: Any) -> Page:
    return Page(_ENV.get_template(template).render(root=root, **context).encode(), HTML)


def _columns(challenge: Challenge) -> list[dict[str, Any]]:
    """The metric columns of a leaderboard: ranking metrics first, then the declared extras."""
    cols = [
        {
            "name": m.name,
            "label": m.label or m.name,
            "fmt": ".3f",
            "ranking": True,
            "direction": "higher is better" if m.higher_is_better else "lower is better",
            "description": m.description,
            "first": "descending" if m.higher_is_better else "ascending",
        }
        for m in challenge.ranking
    ]
    cols += [
        {
            "name": c.name,
            "label": c.label,
            "fmt": c.fmt,
            "ranking": False,
            "direction": "",
            "description": c.note,
            "first": "descending",
        }
        for c in challenge.columns
    ]
    return cols


def _entry_json(entry: Entry, columns: list[dict[str, Any]]) -> dict[str, Any]:
    metrics = {name: {"value": value, "error": error} for name, (value, error) in entry.metrics.items()}
    return {
        "rank": entry.rank,
        "submission": entry.submission_id,
        "participant": entry.participant,
        "method": entry.method,
        "baseline": entry.is_baseline,
        "submitted": entry.created_at.isoformat() + "Z",
        "state": entry.state,
        "reason": entry.reason,
        "attempts": entry.attempts,
        "metrics": {c["name"]: metrics[c["name"]] for c in columns if c["name"] in metrics}
        | {k: v for k, v in metrics.items() if k not in {c["name"] for c in columns}},
        "page": f"submissions/{entry.submission_id}.html",
    }


def _board_json(b: Board) -> dict[str, Any]:
    columns = _columns(b.challenge)
    return {
        "challenge": b.challenge.id,
        "phase": b.phase_slug,
        "title": b.phase_title,
        "hidden": b.hidden,
        "scores_visible": b.visible,
        "window": b.window,
        "ranking": [{"name": m.name, "higher_is_better": m.higher_is_better} for m in b.challenge.ranking],
        "entries": [_entry_json(e, columns) for e in b.ranked],
        "pending": [_entry_json(e, columns) for e in b.pending],
    }


def _board(store: Store, challenge: str, phase: str) -> Board:
    try:
        return board(store, challenge, phase)
    except ValueError as err:
        raise NotFound(str(err)) from None


def _dumps(payload: Any) -> bytes:
    return (json.dumps(payload, indent=1, allow_nan=False, default=str) + "\n").encode()


def index_page(store: Store) -> Page:
    return _render("index.html", "", challenges=phases(store))


def phase_page(store: Store, challenge: str, phase: str) -> Page:
    b = _board(store, challenge, phase)
    others = next(c["phases"] for c in phases(store) if c["slug"] == challenge)
    return _render("phase.html", "../../", board=b, columns=_columns(b.challenge), phases=others)


def phase_json(store: Store, challenge: str, phase: str) -> Page:
    return Page(_dumps(_board_json(_board(store, challenge, phase))), JSON)


def spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet shows as text: one starting with ``= + - @`` (or a tab or carriage
    return) would be read as a formula, e.g. ``=HYPERLINK(...)`` in a participant's name."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def phase_csv(store: Store, challenge: str, phase: str) -> Page:
    """One row per scored submission, best first: rank, who, and every metric with its error."""
    b = _board(store, challenge, phase)
    columns = _columns(b.challenge)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["rank", "submission", "participant", "method", "baseline", "submitted"]
    for c in columns:
        header += [c["name"], f"{c['name']}_error"]
    writer.writerow(header)
    for e in b.ranked:
        row: list[Any] = [
            e.rank,
            e.submission_id,
            spreadsheet_safe(e.participant),
            spreadsheet_safe(e.method),
            int(e.is_baseline),
            e.created_at.isoformat() + "Z",
        ]
        for c in columns:
            value, error = e.metrics.get(c["name"], (None, None))
            row += ["" if value is None else repr(value), "" if error is None else repr(error)]
        writer.writerow(row)
    return Page(out.getvalue().encode(), CSV)


def _submission(store: Store, submission_id: int) -> tuple[dict[str, Any], bool, Challenge]:
    with store.transaction() as session:
        s = session.scalar(
            select(SubmissionRow)
            .where(SubmissionRow.id == submission_id)
            .options(
                selectinload(SubmissionRow.metrics),
                selectinload(SubmissionRow.artefacts),
                selectinload(SubmissionRow.run),
            )
        )
        if s is None:
            raise NotFound(f"no submission {submission_id}")
        phase = s.phase
        visible = phase.scores_visible
        info = {
            "id": s.id,
            "participant": s.participant,
            "method": s.method,
            "description": s.description,
            "baseline": s.is_baseline,
            "submitted": s.created_at.isoformat() + "Z",
            "challenge": phase.challenge.slug,
            "challenge_title": phase.challenge.title,
            "phase": phase.slug,
            "phase_title": phase.title,
            "payload_sha256": s.payload_sha256,
            "state": s.run.state,
            "reason": s.run.reason,
            "attempts": s.run.attempts,
            "finished": s.run.finished_at.isoformat() + "Z" if s.run.finished_at else None,
            "metrics": {m.name: {"value": m.value, "error": m.error} for m in s.metrics} if visible else {},
            "artefacts": [
                {
                    "name": a.name,
                    "kind": a.kind,
                    "title": a.title,
                    "sha256": a.sha256,
                    "url": f"submissions/{s.id}/{a.name}",
                }
                for a in s.artefacts
                if not a.truth or phase.truth_visible
            ]
            if visible
            else [],
        }
    rank = None
    if visible and info["state"] == SCORED:
        b = board(store, info["challenge"], info["phase"])
        rank = next((e.rank for e in b.ranked if e.submission_id == submission_id), None)
    info["rank"] = rank
    return info, visible, challenges.get(info["challenge"])


def my_submissions(store: Store, participant_key: str) -> list[dict[str, Any]]:
    """One identity's submissions with their states; scores only where the phase shows them."""
    with store.transaction() as session:
        ids = session.scalars(
            select(SubmissionRow.id).where(SubmissionRow.participant_key == participant_key).order_by(SubmissionRow.id)
        ).all()
    return [_submission(store, i)[0] for i in ids]


def submission_page(store: Store, submission_id: int) -> Page:
    info, visible, challenge = _submission(store, submission_id)
    columns = _columns(challenge)
    known = {c["name"] for c in columns}
    extra = [
        {"name": n, "label": n, "fmt": ".4g", "ranking": False, "direction": "", "description": ""}
        for n in info["metrics"]
        if n not in known
    ]
    return _render("submission.html", "../", s=info, visible=visible, columns=columns + extra)


def submission_json(store: Store, submission_id: int) -> Page:
    return Page(_dumps(_submission(store, submission_id)[0]), JSON)


def artefact_file(store: Store, submission_id: int, name: str) -> Page:
    info, visible, _ = _submission(store, submission_id)
    for artefact in info["artefacts"]:
        if artefact["name"] == name:
            path = store.path(f"artefacts/{submission_id}/{name}")
            if not path.exists():
                raise NotFound(f"{path}: artefact file is missing")
            return Page(path.read_bytes(), PNG if name.endswith(".png") else JSON)
    raise NotFound(f"submission {submission_id} has no artefact {name!r}" + ("" if visible else " (scores hidden)"))


def challenges_json(store: Store) -> Page:
    listing = phases(store)
    for c in listing:
        declared = challenges.get(c["slug"])
        c["ranking"] = [
            {"name": m.name, "higher_is_better": m.higher_is_better, "description": m.description}
            for m in declared.ranking
        ]
        for p in c["phases"]:
            p["leaderboard"] = f"api/challenges/{c['slug']}/{p['slug']}.json"
    return Page(_dumps({"challenges": listing}), JSON)


def static_file(name: str) -> Page:
    """One of the site's :data:`STATIC` files (the stylesheet, the table sorter)."""
    if name not in STATIC:
        raise NotFound(f"no static file {name!r}")
    return Page((HERE / "static" / name).read_bytes(), STATIC[name])


def all_pages(store: Store) -> dict[str, Page]:
    """Every file of the static site, by its path."""
    files: dict[str, Page] = {
        "index.html": index_page(store),
        **{f"static/{name}": static_file(name) for name in STATIC},
        "api/challenges.json": challenges_json(store),
    }
    for c in phases(store):
        for p in c["phases"]:
            base = f"{c['slug']}/{p['slug']}"
            files[f"challenges/{base}.html"] = phase_page(store, c["slug"], p["slug"])
            files[f"challenges/{base}.csv"] = phase_csv(store, c["slug"], p["slug"])
            files[f"challenges/{base}.json"] = files[f"api/challenges/{base}.json"] = phase_json(
                store, c["slug"], p["slug"]
            )
    with store.transaction() as session:
        ids = session.scalars(select(SubmissionRow.id).order_by(SubmissionRow.id)).all()
    for sid in ids:
        files[f"submissions/{sid}.html"] = submission_page(store, sid)
        files[f"api/submissions/{sid}.json"] = submission_json(store, sid)
        for artefact in _submission(store, sid)[0]["artefacts"]:
            files[artefact["url"]] = artefact_file(store, sid, artefact["name"])
    return files


def build_site(store: Store, out: str | Path) -> Path:
    """Write the static site into ``out`` (index.html at its top); returns the index path."""
    out = Path(out)
    for relative, page in all_pages(store).items():
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(page.content)
    return out / "index.html"
