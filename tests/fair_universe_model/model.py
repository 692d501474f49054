"""A model written to the FAIR Universe HiggsML Uncertainty starting kit's interface.

``Model(get_train_set=..., systematics=...)``, ``fit()``, ``predict(test_set)`` exactly as the
kit's ingestion program calls them: hepbench runs it unchanged. A gradient-boosted classifier
(scikit-learn) selects signal-like events; the signal strength comes from the count above the
cut, and the spread of the background yield under shifted tau / jet energy scales (the
``systematics`` function) widens the interval.
"""

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

FEATURE_PREFIXES = ("PRI_", "DER_")


class Model:
    def __init__(self, get_train_set=None, systematics=None):
        self.get_train_set = get_train_set
        self.systematics = systematics
        self.classifier = HistGradientBoostingClassifier(max_iter=40, random_state=0)

    def _features(self, frame):
        return frame[self.columns].to_numpy(np.float64)

    def _yields(self, frame):
        """Weighted signal and background counts above the cut."""
        passed = self.classifier.predict_proba(self._features(frame))[:, 1] > self.cut
        weights, labels = frame["weights"].to_numpy(), frame["labels"].to_numpy()
        return float(weights[passed & (labels == 1)].sum()), float(weights[passed & (labels == 0)].sum())

    def fit(self):
        # Two halves: the classifier learns on one, the yields come from the other (an
        # overtrained cut would understate the background). The loader rescales each half's
        # weights to the full set's expected events.
        n_events = len(self.get_train_set())
        order = np.random.default_rng(0).permutation(n_events)
        train_set = self.get_train_set(selected_indices=order[: n_events // 2])
        holdout = self.get_train_set(selected_indices=order[n_events // 2 :])
        train_set.pop("detailed_labels")
        self.columns = [c for c in train_set.columns if c.startswith(FEATURE_PREFIXES)]
        weights = train_set.pop("weights").to_numpy()
        labels = train_set.pop("labels").to_numpy()
        balanced = weights.copy()
        for label in (0, 1):
            balanced[labels == label] /= weights[labels == label].sum()
        self.classifier.fit(self._features(train_set), labels, sample_weight=balanced)

        nominal = self.systematics(holdout)
        score = self.classifier.predict_proba(self._features(nominal))[:, 1]
        signal = nominal["labels"].to_numpy() == 1
        w = nominal["weights"].to_numpy()
        best = -np.inf
        for cut in np.quantile(score[signal], np.linspace(0.05, 0.95, 19)):
            s, b = w[signal & (score > cut)].sum(), w[~signal & (score > cut)].sum()
            if b > 0 and s / np.sqrt(b) > best:
                best, self.cut = s / np.sqrt(b), cut
        self.gamma, self.beta = self._yields(nominal)
        shifted = [
            self._yields(self.systematics(holdout, tes=tes, jes=jes))[1]
            for tes, jes in ((0.99, 1.0), (1.01, 1.0), (1.0, 0.99), (1.0, 1.01))
        ]
        self.sigma_beta = float(np.std(shifted + [self.beta]))

    def predict(self, test_set):
        data, weights = test_set["data"], np.asarray(test_set["weights"])
        passed = self.classifier.predict_proba(self._features(data))[:, 1] > self.cut
        observed = float(weights[passed].sum())
        mu_hat = (observed - self.beta) / self.gamma
        delta = np.sqrt(max(observed, 1.0) + self.sigma_beta**2) / self.gamma
        return {"mu_hat": mu_hat, "delta_mu_hat": delta, "p16": mu_hat - delta, "p84": mu_hat + delta}
