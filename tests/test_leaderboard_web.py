"""The leaderboard pages, downloads and JSON API: served live (FastAPI) and built static, identical."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hepbench import challenges
from hepbench.leaderboard.db import open_store
from hepbench.leaderboard.imports import add_records, add_results
from hepbench.leaderboard.pages import all_pages, build_site
from hepbench.leaderboard.queue import work
from hepbench.leaderboard.submissions import configure_phase, sync_challenges
from hepbench.leaderboard.web import create_app

REPO = Path(__file__).resolve().parents[1]
BDT_RECORD = REPO / "docs" / "results" / "higgs_bdt_template_fit_small_10x50.json"


@pytest.fixture
def filled(tmp_path, make_record):
    """A SQLite leaderboard: the real BDT baseline (with plots), three synthetic ones, a participant, and a
    hidden-phase submission."""
    store = open_store(tmp_path / "home", f"sqlite:///{tmp_path / 'lb.db'}")
    sync_challenges(store)
    add_results(store, BDT_RECORD)
    add_records(store, [make_record("strong", 0.4), make_record("weak", -0.6, width=1.5)])
    add_records(store, [make_record("<script>alert(1)</script>", 0.2)], participant="alice & bob")
    add_records(store, [make_record("secret", 0.9)], phase="hidden")
    work(store)
    yield store
    store.close()


def client(store) -> TestClient:
    return TestClient(create_app(store))


def table_methods(html: str) -> list[str]:
    body = html.split('id="leaderboard"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<td class="method"><span class="clip"><a href="[^"]+">([^<]+)</a>', body)


def test_phase_page_lists_submissions_in_rank_order(filled):
    page = client(filled).get("/challenges/higgs-uncertainty/public.html")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert table_methods(page.text) == ["strong", "&lt;script&gt;alert(1)&lt;/script&gt;", "bdt-template-fit", "weak"]
    assert "<script>alert" not in page.text  # escaped
    assert page.text.count('class="tag baseline"') >= 4
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.text
    assert "-0.008" in page.text and "± 0.139" in page.text  # the BDT's coverage score with its bootstrap error


def test_index_links_every_phase(filled):
    html = client(filled).get("/index.html").text
    assert 'href="challenges/higgs-uncertainty/public.html"' in html
    assert 'href="challenges/higgs-uncertainty/hidden.html"' in html and "scores hidden" in html
    assert client(filled).get("/", follow_redirects=False).status_code in (302, 307)


def test_csv_download_is_ranked_with_errors(filled):
    response = client(filled).get("/challenges/higgs-uncertainty/public.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["method"] for r in rows] == ["strong", "<script>alert(1)</script>", "bdt-template-fit", "weak"]
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4"]
    bdt = rows[2]
    record = json.loads(BDT_RECORD.read_text())
    assert float(bdt["coverage_score"]) == pytest.approx(record["metrics"]["coverage_score"])
    assert float(bdt["coverage_score_error"]) == pytest.approx(record["metrics"]["bootstrap"]["coverage_score"]["std"])
    assert bdt["baseline"] == "1" and bdt["participant"] == "hepbench baselines"


def test_json_api(filled):
    c = client(filled)
    listing = c.get("/api/challenges.json").json()
    assert [c["slug"] for c in listing["challenges"]] == challenges.ids()
    higgs = listing["challenges"][0]
    assert higgs["ranking"][0] == {
        "name": "coverage_score",
        "higher_is_better": True,
        "description": "-ln((width + 1e-3) * f(coverage))",
    }
    public = c.get("/api/challenges/higgs-uncertainty/public.json").json()
    assert [e["method"] for e in public["entries"]][0] == "strong"
    assert public["entries"][0]["metrics"]["coverage_score"] == {"value": 0.4, "error": 0.05}
    sid = public["entries"][2]["submission"]
    detail = c.get(f"/api/submissions/{sid}.json").json()
    assert detail["method"] == "bdt-template-fit" and detail["rank"] == 3 and detail["state"] == "scored"
    assert {a["name"] for a in detail["artefacts"]} >= {"coverage_per_set.png", "intervals.png"}
    assert c.get("/api/challenges/higgs-uncertainty/nope.json").status_code == 404
    assert c.get("/api/submissions/9999.json").status_code == 404


def test_submission_page_shows_metrics_and_plots(filled):
    c = client(filled)
    sid = c.get("/api/challenges/higgs-uncertainty/public.json").json()["entries"][2]["submission"]
    html = c.get(f"/submissions/{sid}.html").text
    images = re.findall(r'<img src="\.\./([^"]+)"', html)
    assert images == [f"submissions/{sid}/coverage_per_set.png", f"submissions/{sid}/intervals.png"]
    for src in images:
        png = c.get(f"/{src}")
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert png.content.startswith(b"\x89PNG")
    assert 'id="metrics"' in html and "coverage score" in html and "baseline" in html


def test_hidden_scores_do_not_leak_until_revealed(filled):
    c = client(filled)
    hidden = c.get("/api/challenges/higgs-uncertainty/hidden.json").json()
    assert hidden["scores_visible"] is False and hidden["entries"] == []
    [pending] = hidden["pending"]
    assert pending["method"] == "secret" and pending["metrics"] == {}
    assert "0.9" not in c.get("/challenges/higgs-uncertainty/hidden.csv").text
    detail = c.get(f"/api/submissions/{pending['submission']}.json").json()
    assert detail["metrics"] == {} and detail["artefacts"] == []
    assert c.get(f"/submissions/{pending['submission']}/score.json").status_code == 404
    configure_phase(filled, "higgs-uncertainty", "hidden", revealed=True)
    revealed = c.get("/api/challenges/higgs-uncertainty/hidden.json").json()
    assert revealed["entries"][0]["metrics"]["coverage_score"]["value"] == 0.9


def test_static_site_is_the_served_site(filled, tmp_path):
    """`build` writes exactly the bytes `serve` answers, at the same paths, and every local link resolves."""
    out = tmp_path / "site"
    index = build_site(filled, out)
    assert index == out / "index.html"
    c = client(filled)
    pages = all_pages(filled)
    for relative, page in pages.items():
        assert (out / relative).read_bytes() == page.content
        assert c.get(f"/{relative}").content == page.content, relative
    for html in out.rglob("*.html"):
        for link in re.findall(r'(?:href|src)="([^"#]+)"', html.read_text()):
            if not link.startswith(("http:", "https:")):
                assert (html.parent / link).resolve().exists(), f"{html.relative_to(out)} links to missing {link}"


def test_cli_add_results_show_and_build(tmp_path):
    from typer.testing import CliRunner

    from hepbench.cli.main import app

    where = ["--home", str(tmp_path / "lb"), "--db", f"sqlite:///{tmp_path / 'lb.db'}"]
    runner = CliRunner()
    added = runner.invoke(app, ["leaderboard", "add-results", str(BDT_RECORD), *where])
    assert added.exit_code == 0, added.output
    assert "1 record(s), 1 new" in added.output and "scored (attempt 1)" in added.output
    shown = runner.invoke(app, ["leaderboard", "show", "higgs-uncertainty", *where, "--json", str(tmp_path / "b.json")])
    assert shown.exit_code == 0 and "bdt-template-fit (baseline)" in shown.output
    assert json.loads((tmp_path / "b.json").read_text())["entries"][0]["method"] == "bdt-template-fit"
    built = runner.invoke(app, ["leaderboard", "build", "--out", str(tmp_path / "site"), *where])
    assert built.exit_code == 0 and (tmp_path / "site" / "challenges/higgs-uncertainty/public.csv").exists()
    limited = runner.invoke(app, ["leaderboard", "phase", "higgs-uncertainty", "public", "--max-per-day", "0", *where])
    assert limited.exit_code == 1 and "max_per_day must be at least 1" in limited.output


def test_demo_writes_the_static_leaderboard_of_its_baselines(tmp_path, make_record):
    from hepbench.leaderboard.demo import demo_leaderboard as write_demo_leaderboard

    record = json.loads(BDT_RECORD.read_text())
    index = write_demo_leaderboard(tmp_path / "demo-lb", [record, make_record("other", -2.0)])
    assert index == tmp_path / "demo-lb" / "site" / "index.html" and index.exists()
    html = (tmp_path / "demo-lb/site/challenges/higgs-uncertainty/public.html").read_text()
    assert table_methods(html) == ["bdt-template-fit", "other"]
    # running it again starts from a fresh leaderboard (no duplicate rows)
    write_demo_leaderboard(tmp_path / "demo-lb", [record])
    html = (tmp_path / "demo-lb/site/challenges/higgs-uncertainty/public.html").read_text()
    assert table_methods(html) == ["bdt-template-fit"]


@pytest.mark.slow
def test_demo_end_to_end_writes_its_leaderboard(tmp_path, higgs_tiny_dir):
    """`hepbench demo` (tiny preset) prints the path of a static site ranking every baseline it ran."""
    import shutil

    from typer.testing import CliRunner

    from hepbench.cli.main import app

    # The HiggsML data are the session's (seed 5), found where the demo keeps them, as on its
    # second run; the other challenges' data are generated (seconds).
    shutil.copytree(higgs_tiny_dir, tmp_path / "data" / "higgs-uncertainty" / "tiny-seed5")
    lb = tmp_path / "demo-lb"
    result = CliRunner().invoke(
        app,
        [
            "demo",
            "--preset",
            "tiny",
            "--seed",
            "5",
            "--sets",
            "2",
            "--pseudo-experiments",
            "2",
            "--data-root",
            str(tmp_path / "data"),
            "--leaderboard",
            str(lb),
            "--no-progress",
            "--json",
            str(tmp_path / "demo.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    index = lb / "site" / "index.html"
    assert f"leaderboard web site: {index} " in result.output
    summary = json.loads((tmp_path / "demo.json").read_text())["challenges"]
    ran = [r["method"] for r in summary["higgs-uncertainty"]]
    assert len(ran) >= 2
    lhco_ran = [r["method"] for r in summary["lhco"]]
    assert {"supervised", "cwola-hunting"} <= set(lhco_ran)
    assert table_methods((lb / "site/challenges/lhco/public.html").read_text()) == lhco_ran
    # calo: the multiclass score over the demo's generators, finite, in the JSON and on the page
    multiclass = [r["metrics"]["multiclass_log_posterior"] for r in summary["calo"]]
    assert len(multiclass) == 2 and all(math.isfinite(v) and v <= 0 for v in multiclass)
    calo_page = (lb / "site/challenges/calo/public.html").read_text()
    assert all(f"{v:.2f}" in calo_page for v in multiclass) and "nan" not in calo_page
    n_records = sum(len(records) for records in summary.values())
    html = (lb / "site/challenges/higgs-uncertainty/public.html").read_text()
    assert table_methods(html) == ran  # the demo's own ranking, every baseline that ran
    assert len(list((lb / "site/submissions").glob("*/intervals.png"))) == len(ran)
    # the demo's summary JSON imports as baselines too
    store = open_store(tmp_path / "other", f"sqlite:///{tmp_path / 'other.db'}")
    sync_challenges(store)
    assert sum(a.created for a in add_results(store, tmp_path / "demo.json")) == n_records
    assert work(store)["scored"] == n_records
    store.close()


def test_truth_derived_plots_wait_until_the_phase_closes(tmp_path):
    """A participant's plots and per-pseudo-experiment table show the true mu: in a phase with
    hidden truth they stay off the pages, the API and the static site until the organiser closes it."""
    import pandas as pd

    from hepbench.challenges.higgs_uncertainty.pseudo_experiments import make_test_plan
    from hepbench.leaderboard.submissions import submit

    store = open_store(tmp_path / "home", f"sqlite:///{tmp_path / 'lb.db'}")
    try:
        sync_challenges(store)
        plan = make_test_plan(2, 3, initial_seed=11)
        plan.to_json(tmp_path / "plan.json")
        t = plan.table
        answers = pd.DataFrame(
            {
                "set_index": t["set_index"],
                "pe_index": t["pe_index"],
                "mu_hat": t["mu_true"],
                "delta_mu_hat": 0.3,
                "p16": t["mu_true"] - 0.3,
                "p84": t["mu_true"] + 0.3,
            }
        )
        answers.to_csv(tmp_path / "answers.csv", index=False)
        configure_phase(store, "higgs-uncertainty", "public", plan=tmp_path / "plan.json")
        sid = submit(store, "higgs-uncertainty", "public", "carol", "exact", tmp_path / "answers.csv").submission_id
        assert work(store)["scored"] == 1
        c = client(store)
        detail = c.get(f"/api/submissions/{sid}.json").json()
        assert detail["metrics"]["coverage"]["value"] == 1.0
        assert [a["name"] for a in detail["artefacts"]] == ["score.json"]
        for name in ("pseudo_experiments.json", "intervals.png", "coverage_per_set.png"):
            assert c.get(f"/submissions/{sid}/{name}").status_code == 404
        site = build_site(store, tmp_path / "site").parent
        assert not list(site.rglob("pseudo_experiments.json")) and not list(site.rglob("intervals.png"))
        configure_phase(store, "higgs-uncertainty", "public", revealed=True)
        names = [a["name"] for a in c.get(f"/api/submissions/{sid}.json").json()["artefacts"]]
        assert {"pseudo_experiments.json", "intervals.png", "coverage_per_set.png"} <= set(names)
        rows = c.get(f"/submissions/{sid}/pseudo_experiments.json").json()
        assert {r["mu_true"] for r in rows} == set(t["mu_true"])
    finally:
        store.close()


def test_show_prints_a_method_name_without_its_terminal_escapes_or_markup(tmp_path):
    from typer.testing import CliRunner

    from hepbench.cli.main import app

    record = json.loads(BDT_RECORD.read_text())
    record["method"] = "evil\x1b]0;TITLE\x07\x1b[2J[red]x"
    (tmp_path / "evil.json").write_text(json.dumps(record))
    where = ["--home", str(tmp_path / "lb"), "--db", f"sqlite:///{tmp_path / 'lb.db'}"]
    runner = CliRunner()
    assert runner.invoke(app, ["leaderboard", "add-results", str(tmp_path / "evil.json"), *where]).exit_code == 0
    shown = runner.invoke(app, ["leaderboard", "show", "higgs-uncertainty", *where])
    assert shown.exit_code == 0, shown.output
    assert "\x1b" not in shown.output and "\x07" not in shown.output
    assert "[red]x" in "".join(shown.output.split())  # markup printed as text, not applied
