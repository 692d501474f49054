"""An organiser's competition from one file: ``hepbench leaderboard init --config competition.yaml``.

The YAML declares challenges and their phases::

    challenges:
      - id: lhco
        phases:
          - name: public
            start: 2026-01-10          # ISO date or date-time, UTC
            end: 2026-03-01
            max_per_day: 3
            max_total: 50
            hidden: false
            preset: tiny               # the challenge's data preset
            seed: entropy              # or secret-file (then seed_file: a 0600 secrets.json)
            limits:                    # the sandbox of this phase's code submissions
              memory_mb: 2048
              wall_seconds: 600

Everything is checked before anything is created (errors name the file and the field); then each
phase's secret test data are written with the challenge's ``write_inputs`` into
``HOME/phases/CHALLENGE/PHASE/{input,organiser}`` (the layout code submissions are run on), the
seeds recorded only in the organiser folder's ``secrets.json`` (mode 0600), and the phase rows
are created or updated in one transaction with the organiser folder as their hidden truth.

``init --preset`` records each phase with its preset and seed source only; the first worker that
needs the phase's inputs makes them (:func:`ensure_phase_data`, under a file lock, so one of
several concurrent workers makes them and the others wait and reuse them).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from .. import challenges
from ..challenges.secrets import SECRETS_FILE
from .db import Store
from .models import ChallengeRow, PhaseRow
from .phase_settings import MAX_SETTING, check_window, dump_limits, parse_limits, parse_when
from .submissions import get_phase, sync_challenges

TOP_KEYS = frozenset({"challenges"})
CHALLENGE_KEYS = frozenset({"id", "phases"})
PHASE_KEYS = frozenset(
    {"name", "title", "start", "end", "max_per_day", "max_total", "hidden", "preset", "seed", "seed_file", "limits"}
)
SEED_SOURCES = ("entropy", "secret-file")
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class CompetitionError(ValueError):
    """A competition file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class PhasePlan:
    """One checked phase of a competition file."""

    challenge: str
    name: str
    title: str
    hidden: bool
    preset: str
    seed_source: str
    seed_file: Path | None
    start: dt.datetime | None
    end: dt.datetime | None
    max_per_day: int | None
    max_total: int | None
    limits: dict[str, float | int] | None = None
    """Sandbox limits of the phase's code runs (``phase_settings.LIMIT_FIELDS`` keys)."""
    on_first_use: bool = False
    """Make the secret data when a worker first needs them, not at init."""


def _date(value: Any, where: str) -> dt.datetime | None:
    try:
        return parse_when(value, where)
    except ValueError as err:
        raise CompetitionError(str(err)) from None


def _limit(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SETTING:
        raise CompetitionError(f"{where}: a whole number from 1 to {MAX_SETTING}, got {value!r}")
    return value


def _mapping(value: Any, keys: frozenset[str], where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CompetitionError(f"{where}: expected a mapping, got {type(value).__name__}")
    unknown = sorted(str(k) for k in value if k not in keys)
    if unknown:
        raise CompetitionError(f"{where}.{unknown[0]}: unknown key; known: {sorted(keys)}")
    return value


def _seed_file(value: Any, where: str) -> Path:
    if not isinstance(value, str) or not value:
        raise CompetitionError(f"{where}: the path of an organiser secrets file is required with seed: secret-file")
    path = Path(value).expanduser()
    if not path.is_file():
        raise CompetitionError(f"{where}: {path} not found")
    if path.stat().st_mode & 0o077:
        raise CompetitionError(f"{where}: {path} is readable by others; make it mode 0600 (chmod 600)")
    try:
        seed = json.loads(path.read_text()).get("data_seed")
    except (ValueError, AttributeError):
        seed = None
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise CompetitionError(f"{where}: {path} holds no integer data_seed (a {SECRETS_FILE} of a prepared phase)")
    return path


def _phase(challenge: challenges.Challenge, raw: Any, where: str) -> PhasePlan:
    entry = _mapping(raw, PHASE_KEYS, where)
    name = entry.get("name")
    if not isinstance(name, str) or not SLUG.match(name):
        raise CompetitionError(f"{where}.name: a lower-case slug (letters, digits, - and _) is required, got {name!r}")
    hidden = entry.get("hidden", name == "hidden")
    if not isinstance(hidden, bool):
        raise CompetitionError(f"{where}.hidden: true or false, got {hidden!r}")
    preset = entry.get("preset", "tiny")
    if preset not in challenge.presets:
        raise CompetitionError(
            f"{where}.preset: unknown preset {preset!r} for {challenge.id}; known: {list(challenge.presets)}"
        )
    source = entry.get("seed", "entropy")
    if source not in SEED_SOURCES:
        raise CompetitionError(f"{where}.seed: one of {list(SEED_SOURCES)}, got {source!r}")
    if source == "entropy" and "seed_file" in entry:
        raise CompetitionError(f"{where}.seed_file: only with seed: secret-file")
    seed_file = _seed_file(entry.get("seed_file"), f"{where}.seed_file") if source == "secret-file" else None
    start, end = _date(entry.get("start"), f"{where}.start"), _date(entry.get("end"), f"{where}.end")
    try:
        check_window(start, end, f"{where}.end")
        limits = parse_limits(entry["limits"], f"{where}.limits") if "limits" in entry else None
    except ValueError as err:
        raise CompetitionError(str(err)) from None
    title = entry.get("title", f"{name.capitalize()} test")
    if not isinstance(title, str):
        raise CompetitionError(f"{where}.title: text, got {title!r}")
    return PhasePlan(
        challenge=challenge.id,
        name=name,
        title=title,
        hidden=hidden,
        preset=str(preset),
        seed_source=str(source),
        seed_file=seed_file,
        start=start,
        end=end,
        max_per_day=_limit(entry.get("max_per_day"), f"{where}.max_per_day"),
        max_total=_limit(entry.get("max_total"), f"{where}.max_total"),
        limits=limits,
    )


def _loader() -> Any:
    """yaml's safe loader with dates left as text, so a bad one is reported by its field."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return Loader


def load_competition(path: Path) -> list[PhasePlan]:
    """Read and check a competition file; every error names the file and the field."""
    import yaml

    if path.is_dir():
        raise CompetitionError(f"{path}: is a folder; give the competition file")
    if not path.is_file():
        raise CompetitionError(f"{path}: competition file not found")
    try:
        raw = yaml.load(path.read_text(), Loader=_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        raise CompetitionError(f"{path}: not valid YAML{at}: {getattr(err, 'problem', err)}") from None
    top = _mapping(raw, TOP_KEYS, str(path))
    entries = top.get("challenges")
    if not isinstance(entries, list) or not entries:
        raise CompetitionError(f"{path}: challenges: a non-empty list is required")
    plans: list[PhasePlan] = []
    seen: set[tuple[str, str]] = set()
    for i, raw_challenge in enumerate(entries):
        where = f"{path}: challenges[{i}]"
        entry = _mapping(raw_challenge, CHALLENGE_KEYS, where)
        try:
            challenge = challenges.get(str(entry.get("id")))
        except (KeyError, ValueError) as err:
            raise CompetitionError(f"{where}.id: {str(err).strip(chr(34) + chr(39))}") from None
        phases = entry.get("phases")
        if not isinstance(phases, list) or not phases:
            raise CompetitionError(f"{where}.phases: a non-empty list is required")
        for j, raw_phase in enumerate(phases):
            plan = _phase(challenge, raw_phase, f"{where}.phases[{j}]")
            if (plan.challenge, plan.name) in seen:
                raise CompetitionError(f"{where}.phases[{j}].name: phase {plan.name!r} is declared twice")
            seen.add((plan.challenge, plan.name))
            plans.append(plan)
    return plans


def preset_plans(preset: str) -> list[PhasePlan]:
    """Every registered challenge with its declared phases (public, hidden), data of ``preset``
    from entropy seeds made on first use, and no limits: ``hepbench leaderboard init --preset``."""
    plans = []
    for challenge in challenges.all():
        if preset not in challenge.presets:
            raise CompetitionError(
                f"--preset: unknown preset {preset!r} for {challenge.id}; known: {list(challenge.presets)}"
            )
        for spec in challenge.phases:
            plans.append(
                PhasePlan(
                    challenge=challenge.id,
                    name=spec.slug,
                    title=spec.title,
                    hidden=spec.hidden,
                    preset=preset,
                    seed_source="entropy",
                    seed_file=None,
                    start=None,
                    end=None,
                    max_per_day=None,
                    max_total=None,
                    on_first_use=True,
                )
            )
    return plans


def phase_dir(store: Store, challenge: str, phase: str) -> Path:
    """The folder of a phase's data: ``input/`` (what the sandbox sees) and ``organiser/`` (truth)."""
    return store.path(f"phases/{challenge}/{phase}")


def _seed(plan: PhasePlan) -> int | None:
    """None draws from the operating system's entropy inside ``write_inputs``."""
    if plan.seed_file is None:
        return None
    return int(json.loads(plan.seed_file.read_text())["data_seed"])


READY_FILE = "phase.json"
"""Written last into a phase's folder: its data are complete."""


@contextmanager
def _phase_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on a phase's data (``flock``: released by the OS if its holder dies;
    workers share the home folder, also over NFS)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_data(store: Store, plan: PhasePlan) -> tuple[Path, bool]:
    """Write the phase's inputs and truth unless already there; (organiser folder, created).

    Under the phase's lock: of several concurrent callers one writes, the others wait and
    reuse. A folder without its ``phase.json`` (a writer that died) is removed and written again."""
    from ..submission_kit.runner import prepare_inputs

    folder = phase_dir(store, plan.challenge, plan.name)
    organiser = folder / "organiser"
    if (folder / READY_FILE).exists():
        return organiser, False
    with _phase_lock(folder):
        if (folder / READY_FILE).exists():
            return organiser, False  # another worker made them while this one waited
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        try:
            _, organiser, _ = prepare_inputs(plan.challenge, folder, preset=plan.preset, seed=_seed(plan))
            challenges.get(plan.challenge).check_truth(organiser)
            (folder / READY_FILE).write_text(
                json.dumps(
                    {
                        "challenge": plan.challenge,
                        "phase": plan.name,
                        "preset": plan.preset,
                        "seed_source": plan.seed_source,
                        "start": plan.start.isoformat() if plan.start else None,
                        "end": plan.end.isoformat() if plan.end else None,
                    },
                    indent=1,
                )
                + "\n"
            )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
    return organiser, True


class PhaseDataError(RuntimeError):
    """A phase's secret data could not be made on first use (the message says why, on one line)."""


def ensure_phase_data(store: Store, challenge: str, phase: str) -> Path | None:
    """Make a phase's secret data on first use (``init --preset``) and return its organiser
    folder; None for a phase whose data are not made here (set by ``--truth`` or ``--config``)."""
    with store.transaction() as session:
        row = get_phase(session, challenge, phase)
        preset, source = row.data_preset, row.data_seed_source
    if preset is None:
        return None
    plan = PhasePlan(
        challenge=challenge,
        name=phase,
        title="",
        hidden=False,
        preset=preset,
        seed_source=source or "entropy",
        seed_file=None,
        start=None,
        end=None,
        max_per_day=None,
        max_total=None,
        on_first_use=True,
    )
    try:
        organiser, _ = _write_data(store, plan)
    except Exception as err:  # noqa: BLE001 - any failure fails the run with this one line
        first = (str(err).strip().splitlines() or [""])[0]
        raise PhaseDataError(
            f"making the {preset} data of phase {challenge}/{phase} failed: {type(err).__name__}: {first}"
        ) from None
    return organiser


def apply_competition(
    store: Store, plans: list[PhasePlan], on_event: Callable[[str], None] | None = None
) -> list[dict[str, Any]]:
    """Create the phases of checked ``plans`` and their secret test data; a summary per phase.

    Data are written first (a failure removes the folders this call made and leaves the store
    untouched), then every phase row is created or updated in one transaction. A plan
    ``on_first_use`` only records its preset and seed source: a worker makes its data."""
    sync_challenges(store)
    made: list[Path] = []
    truths: dict[tuple[str, str], tuple[Path, bool]] = {}
    try:
        for plan in plans:
            if plan.on_first_use:
                folder = phase_dir(store, plan.challenge, plan.name)
                truths[(plan.challenge, plan.name)] = (folder / "organiser", False)
                continue
            if on_event is not None:
                on_event(f"{plan.challenge}/{plan.name}: preparing the {plan.preset} test data")
            organiser, created = _write_data(store, plan)
            if created:
                made.append(organiser.parent)
            truths[(plan.challenge, plan.name)] = (organiser, created)
    except BaseException:
        for folder in made:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    summary = []
    with store.transaction() as session:
        for plan in plans:
            challenge = session.scalar(select(ChallengeRow).where(ChallengeRow.slug == plan.challenge))
            assert challenge is not None  # sync_challenges made every registered one
            row = next((p for p in challenge.phases if p.slug == plan.name), None)
            if row is None:
                row = PhaseRow(challenge_id=challenge.id, slug=plan.name, position=len(challenge.phases))
                session.add(row)
            organiser, created = truths[(plan.challenge, plan.name)]
            row.title, row.hidden = plan.title, plan.hidden
            row.max_per_day, row.max_total = plan.max_per_day, plan.max_total
            row.starts_at, row.ends_at = plan.start, plan.end
            row.sandbox_limits = dump_limits(plan.limits)
            row.plan_path = str(organiser.resolve())
            ready = (organiser.parent / READY_FILE).exists()
            row.data_preset = plan.preset if plan.on_first_use else None
            row.data_seed_source = plan.seed_source if plan.on_first_use else None
            data = "created" if created else "kept" if ready else "on first use"
            summary.append(
                {
                    "challenge": plan.challenge,
                    "phase": plan.name,
                    "hidden": plan.hidden,
                    "preset": plan.preset,
                    "seed": plan.seed_source,
                    "data": data,
                    "start": f"{plan.start:%Y-%m-%d %H:%M}" if plan.start else None,
                    "end": f"{plan.end:%Y-%m-%d %H:%M}" if plan.end else None,
                    "max_per_day": plan.max_per_day,
                    "max_total": plan.max_total,
                    "limits": ", ".join(f"{k}={v:g}" for k, v in sorted((plan.limits or {}).items())) or None,
                }
            )
    return summary


def init_competition(
    config: Path | None,
    open_store: Callable[[], Store],
    *,
    preset: str | None = None,
    on_event: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """``hepbench leaderboard init --config | --preset``: check ``config`` fully (or declare every
    registered challenge's phases with ``preset``), then open the store (with ``open_store``) and
    create what is declared; a bad file leaves no store, phase or data behind."""
    if (config is None) == (preset is None):
        raise CompetitionError("give either --config or --preset")
    plans = load_competition(config) if config is not None else preset_plans(str(preset))
    return apply_competition(open_store(), plans, on_event=on_event)
