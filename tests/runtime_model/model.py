"""A HiggsML Uncertainty submission that uses every library of the submission runtime.

scikit-learn standardises the features, xgboost and a torch logistic regression each score the
events, the average score selects signal-like events, scipy gives the Poisson interval and
pandas carries the data. Prints the versions it imported, so the test can check where they
came from.
"""

import numpy as np
import pandas as pd
import scipy
import sklearn
import torch
import xgboost
from scipy import stats
from sklearn.preprocessing import StandardScaler

FEATURE_PREFIXES = ("PRI_", "DER_")


class Model:
    def fit(self, train: pd.DataFrame):
        print(
            "runtime:",
            {
                "numpy": np.__version__,
                "numpy_file": np.__file__,
                "pandas": pd.__version__,
                "scipy": scipy.__version__,
                "scikit-learn": sklearn.__version__,
                "torch": torch.__version__,
                "torch_cuda": torch.version.cuda,
                "xgboost": xgboost.__version__,
            },
            flush=True,
        )
        self.columns = [c for c in train.columns if c.startswith(FEATURE_PREFIXES)]
        half = np.random.default_rng(0).random(len(train)) < 0.5
        fit_part, holdout = train[half], train[~half]
        labels = fit_part["labels"].to_numpy()
        self.scaler = StandardScaler().fit(fit_part[self.columns])
        x = self.scaler.transform(fit_part[self.columns])
        self.booster = xgboost.XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1, random_state=0)
        self.booster.fit(x, labels, sample_weight=np.where(labels == 1, 0.5 / labels.mean(), 0.5 / (1 - labels.mean())))
        torch.manual_seed(0)
        self.linear = torch.nn.Linear(x.shape[1], 1)
        optimiser = torch.optim.Adam(self.linear.parameters(), lr=0.05)
        inputs, targets = torch.tensor(x, dtype=torch.float32), torch.tensor(labels, dtype=torch.float32)
        for _ in range(30):
            optimiser.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(self.linear(inputs).squeeze(1), targets)
            loss.backward()
            optimiser.step()
        score = self._score(holdout)
        signal = holdout["labels"].to_numpy() == 1
        w = holdout["weights"].to_numpy() * (train["weights"].sum() / holdout["weights"].sum())
        self.cut = float(np.quantile(score[signal], 0.5))
        self.gamma = float(w[signal & (score > self.cut)].sum())
        self.beta = float(w[~signal & (score > self.cut)].sum())
        return self

    def _score(self, frame: pd.DataFrame) -> np.ndarray:
        x = self.scaler.transform(frame[self.columns])
        with torch.no_grad():
            linear = torch.sigmoid(self.linear(torch.tensor(x, dtype=torch.float32))).squeeze(1).numpy()
        return 0.5 * (self.booster.predict_proba(x)[:, 1] + linear)

    def predict(self, data: pd.DataFrame) -> dict:
        observed = float(np.sum(self._score(data) > self.cut))
        low, high = stats.poisson.interval(0.6827, max(observed, 1.0))
        mu_hat = (observed - self.beta) / self.gamma
        p16, p84 = (low - self.beta) / self.gamma, (high - self.beta) / self.gamma
        return {"mu_hat": mu_hat, "delta_mu_hat": (p84 - p16) / 2, "p16": p16, "p84": p84}
