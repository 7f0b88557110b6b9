"""Evaluate stage benchmark: many patrol-day fits (validation, power, randomisation inference).

Peer: statsmodels ``GLM(Poisson, scale="X2")`` fitted once per simulated trial in a Python loop,
which is what a script over the same panels would do. patrolwise fits all trials as one batched
IRLS. Prints patrolwise time / peer time as a ratio (below 1 = patrolwise faster), peak memory,
and the largest coefficient difference between the two (they fit the same model).

    .venv/bin/python benchmarks/bench_evaluate.py [--quick]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm

from patrolwise.evaluate.glm import fit_quasi_poisson
from patrolwise.evaluate.patrol_days import design
from patrolwise.evaluate.validate import default_base_rates
from patrolwise.synth import make_assignment, simulate_hotspot_days


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    tracemalloc.start()
    t = time.perf_counter()
    out = fn()
    el = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return el, peak, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    trials = 40 if args.quick else 300
    rng = np.random.default_rng(0)
    rates = default_base_rates()
    days = pd.date_range("2023-02-06", periods=329, freq="D")
    n_a = len(rates)
    ids = np.arange(1, trials * n_a + 1)
    patrol = make_assignment(rng, ids, days)["patrol"].to_numpy().reshape(trials * n_a, len(days))
    panel = simulate_hotspot_days(rng, np.tile(rates, trials), days, patrol, 0.3, 0.5, area_ids=ids)
    y = panel.counts.reshape(trials, -1).astype(float)
    skel = pd.DataFrame(
        {"area_id": np.repeat(np.arange(1, n_a + 1), len(days)), "date": np.tile(days, n_a)}
    )
    x0, _ = design(skel, np.zeros(len(skel)))
    xb = np.broadcast_to(x0, (trials, *x0.shape)).copy()
    xb[:, :, 1] = patrol.reshape(trials, -1)

    def ours() -> np.ndarray:
        return fit_quasi_poisson(y, xb).beta

    def peer() -> np.ndarray:
        return np.array(
            [
                sm.GLM(y[i], xb[i], family=sm.families.Poisson()).fit(scale="X2").params
                for i in range(trials)
            ]
        )

    t1, m1, b1 = timed(ours)
    t2, m2, b2 = timed(peer)
    print(f"patrol-day fits: {trials} trials x {x0.shape[0]} hot spot-days x {x0.shape[1]} terms")
    print(f"  patrolwise batched IRLS   {t1:7.2f} s   peak {m1:7.1f} MiB")
    print(f"  statsmodels GLM loop      {t2:7.2f} s   peak {m2:7.1f} MiB")
    print(
        f"  ratio patrolwise/statsmodels = {t1 / t2:.2f}; max |coef diff| = {np.abs(b1 - b2).max():.2e}"
    )


if __name__ == "__main__":
    main()
