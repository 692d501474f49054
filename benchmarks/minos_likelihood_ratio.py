"""How often MINOS sets the likelihood-ratio fit's interval (HESSE the rest).

Trains a HiggsML baseline at its ``tiny`` size on the tiny preset and answers pseudo-experiments
drawn at the preset's luminosity, counting the valid MINOS intervals on mu and those that run
to a limit of mu (a flat likelihood there)::

    python benchmarks/minos_likelihood_ratio.py --method bdt-likelihood-ratio --data-seed 5 \
        --plan-seed 123 --sets 2 --pseudo-experiments 15
"""

from __future__ import annotations

import argparse

from hepbench import challenges
from hepbench.baselines.higgs_uncertainty import template_fit
from hepbench.challenges.higgs_uncertainty.dataset import generate_dataset
from hepbench.challenges.higgs_uncertainty.pseudo_experiments import PseudoExperimentSampler, make_test_plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="bdt-likelihood-ratio")
    parser.add_argument("--data-seed", type=int, default=5)
    parser.add_argument("--plan-seed", type=int, default=123)
    parser.add_argument("--sets", type=int, default=2)
    parser.add_argument("--pseudo-experiments", type=int, default=15)
    args = parser.parse_args()

    counts = {"minos": 0, "hesse": 0, "at the limit of mu": 0}
    minos = template_fit.Minuit.minos

    def counted_minos(self, *a, **k):  # type: ignore[no-untyped-def]
        try:
            result = minos(self, *a, **k)
        except RuntimeError:
            counts["hesse"] += 1
            raise
        error = self.merrors["mu"]
        counts["minos" if error.is_valid else "hesse"] += 1
        counts["at the limit of mu"] += bool(error.at_lower_limit or error.at_upper_limit)
        return result

    template_fit.Minuit.minos = counted_minos  # profile_interval falls back to HESSE after this
    data = generate_dataset("tiny", seed=args.data_seed)
    estimator = challenges.get("higgs-uncertainty").baseline(args.method).factory("tiny", "cpu", 0).fit(data.train)
    sampler = PseudoExperimentSampler(data.test)
    plan = make_test_plan(args.sets, args.pseudo_experiments, initial_seed=args.plan_seed)
    for s in range(args.sets):
        for p in range(args.pseudo_experiments):
            estimator.predict(plan.draw(sampler, s, p))
    print(
        f"{args.method}: MINOS set {counts['minos']} intervals, HESSE {counts['hesse']}; "
        f"{counts['at the limit of mu']} MINOS interval(s) reach a limit of mu {template_fit.PARAMETER_LIMITS['mu']}"
    )


if __name__ == "__main__":
    main()
