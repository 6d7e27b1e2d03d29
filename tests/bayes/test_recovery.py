"""Parameter recovery: 20 synthetic people with known parameters, their 90% posterior intervals (slow tier).

Each person is a virtual adult or adolescent simulated under two meals with 8 mg/dL reading noise; NUTS runs for all
20 at once (4 chains each, every chain with its own adaptation). Over the 40 intervals (Vmx and kabs per person) the
share holding the truth must lie within 10 points of the nominal 90%.
"""

import jax
import numpy as np
import pytest

import twinlab as tl
from twinlab import bayes

from .synthetic import stack, synthetic_record


@pytest.mark.slow
def test_ninety_percent_intervals_cover_the_truth_about_ninety_percent_of_the_time():
    names = [n for n in tl.glucose.patient_names() if n.startswith(("adult", "adolescent"))][:20]
    pairs = [synthetic_record(n, 300, seed=i) for i, n in enumerate(names)]
    trues, records = [p for p, _ in pairs], [r for _, r in pairs]
    free = ("Vmx", "kabs")
    group = bayes.personalise_group(tl.glucose.UVAPadova(), records, free, method="nuts", key=jax.random.key(0),
                                    base=stack(trues), hierarchical=False, num_warmup=200, num_samples=200)  # fmt: skip
    hits = []
    for post, true in zip(group.people, trues, strict=True):
        for name in free:
            lo, hi = np.quantile(post.draws[name], [0.05, 0.95])
            hits.append(lo <= float(getattr(true, name)) <= hi)
    assert 0.8 <= np.mean(hits) <= 1.0, np.mean(hits)
