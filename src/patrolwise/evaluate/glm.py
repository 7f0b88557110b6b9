"""A batched quasi-Poisson GLM (IRLS) for many response vectors at once.

Why not statsmodels in a loop: the validation study, the power simulation and randomisation
inference each fit the same hot spot x day model hundreds of times. Fitting them as one stacked
array problem takes seconds instead of minutes. The single-fit results agree with
``statsmodels.GLM(family=Poisson(), scale="X2")`` to numerical precision (tested).

Quasi-Poisson (Pearson-scaled variance) is the primary model because crime counts are
overdispersed; when the assignment is randomised at hot spot-day level the model-based
(not cluster-robust) variance is valid, which matters with only seven hot spots as clusters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import InputError

Array = NDArray[np.float64]


@dataclass
class BatchFit:
    """Coefficients, their quasi-Poisson covariance, scale and convergence, per response."""

    beta: Array  # (T, p)
    cov: Array  # (T, p, p), already multiplied by the scale
    scale: Array  # (T,)
    converged: NDArray[np.bool_]  # (T,)
    #: residual degrees of freedom per response (T,): rows and coefficients that ran off to
    #: infinity are left out, as a fit without them would leave them out
    df_resid: NDArray[np.int64]

    def se(self, j: int) -> Array:
        """Standard errors of coefficient ``j``; NaN where it has none (a coefficient run off to
        infinity, or a variance rounding made negative in a fit singular to rounding)."""
        with np.errstate(invalid="ignore"):
            return np.sqrt(self.cov[:, j, j])


#: a design whose smallest singular value is at or below this share of its largest has a
#: column that is (to rounding) a combination of the others. Healthy hot spot x day designs sit
#: near 1e-2, so the answer no longer hangs on whether LAPACK meets an exact zero pivot, which
#: differed between machines.
RCOND_DESIGN = 1e-10
#: a coefficient has run off to infinity when the fitting weights of its column's rows average
#: at most this share of all the weights: where the fit stops (its deviance settled) that share
#: is 1e-10 to 3e-9, while a sparse but healthy column (one low-harm crime in a year at one hot
#: spot) is above 1e-4; a row has run off when its own weight is that small a share
RUN_OFF = 1e-6


def _unit_columns(m: Array) -> Array:
    """Each column scaled to unit length (a zero column stays zero): the rank test is then the
    same whatever a covariate's unit (hours or seconds)."""
    norm = np.linalg.norm(m, axis=-2, keepdims=True)
    return np.divide(m, norm, out=np.zeros_like(m), where=norm > 0)


def _singular(m: Array, rcond: float) -> NDArray[np.bool_]:
    """Per matrix of the stack ``m`` (T, a, b): smallest singular value <= rcond x largest."""
    sv = np.linalg.svd(m, compute_uv=False)
    return np.asarray(~(sv[..., -1] > rcond * sv[..., 0]))


def _inverse_information(
    xx: Array, mu: Array, xtwx: Array, *, shared: bool
) -> tuple[Array, NDArray[np.bool_], NDArray[np.bool_]]:
    """(X'WX)^-1 per fit, NaN where a coefficient ran off to infinity; which coefficients ran
    off (T, p); which fits failed.

    A coefficient runs off when no row of its column has a positive fitted mean: a weekday with
    no crime on any hot spot, or no crime on any patrol day. Its fitted means underflow to
    ~1e-13, so X'WX is singular to rounding, and whether LAPACK then raised (a singular-matrix
    error) or returned a huge inverse differed between machines. Such a column (:data:`RUN_OFF`)
    gets no variance; the others get the inverse of their own block, which is the limit of the
    whole inverse as those means go to 0 (the run-off rows weigh nothing). A fit whose remaining
    block is still singular has no covariance at all and counts as not converged.
    """
    t_n, _, p = xx.shape
    sq = (xx[0] ** 2).sum(axis=0)[None, :] if shared else np.einsum("tnp,tnp->tp", xx, xx)
    diag = np.diagonal(xtwx, axis1=1, axis2=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = diag / (sq * mu.mean(axis=1)[:, None])
    off = (sq > 0) & ~(share > RUN_OFF)
    inv = np.full_like(xtwx, np.nan)
    failed = np.zeros(t_n, dtype=bool)
    # fits sharing which columns ran off are inverted together (a randomisation test's draws
    # share the response, and so its empty weekdays): one batched call per pattern
    patterns, group = np.unique(off, axis=0, return_inverse=True)
    for g, pattern in enumerate(patterns):
        rows = np.flatnonzero(group.ravel() == g)
        keep = np.flatnonzero(~pattern)
        block = np.ix_(rows, keep, keep)
        try:
            inv[block] = np.linalg.inv(xtwx[block])
        except np.linalg.LinAlgError:  # some fit of the group singular: each on its own
            for i in rows.tolist():
                one = np.ix_(keep, keep)
                try:
                    inv[i][one] = np.linalg.inv(xtwx[i][one])
                except np.linalg.LinAlgError:
                    failed[i] = True
    return inv, off, failed


def _xtwx(xx: Array, w: Array) -> Array:
    """X'WX per response: one BLAS product each (faster than one big einsum on small p)."""
    return np.stack([xx[i].T @ (xx[i] * w[i][:, None]) for i in range(xx.shape[0])])


def fit_quasi_poisson(*args: Any, **kwargs: Any) -> BatchFit:
    """See :func:`_fit`; BLAS is held to one thread, since its threads only fight over these small
    products (5x faster on two cores, far more on a busy machine)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _fit(*args, **kwargs)


def _fit(
    y: Array,
    x: Array,
    *,
    offset: Array | None = None,
    max_iter: int = 60,
    tol: float = 1e-10,
    scale: str = "X2",
    beta0: Array | None = None,
    per_row: bool = False,
) -> BatchFit:
    """Fit log-linear Poisson models to each row of ``y`` (T, n) with design ``x``.

    ``offset`` is (n,) or (T, n); ``beta0`` a starting point shared by all rows (warm start).
    ``x`` is (n, p), shared by every response, or (T, n, p), one design per response (the
    randomisation test swaps the treatment column). ``scale`` is "X2" (Pearson, quasi-Poisson)
    or "1" (pure Poisson).

    A design that cannot be solved (a column constant or duplicated, to :data:`RCOND_DESIGN`)
    raises an InputError, unless ``per_row``: then only the responses whose own system is
    singular fail (not converged, coefficients and covariance NaN) and the rest of the batch is
    fitted as usual. Simulated trials and randomisation re-draws use this: one trial's singular
    design must not sink the others.
    """
    y = np.atleast_2d(np.asarray(y, dtype=float))
    t_n, n = y.shape
    xx = np.asarray(x, dtype=float)
    if xx.ndim == 2:
        xx = np.broadcast_to(xx, (t_n, *xx.shape))
    if xx.shape[:2] != (t_n, n):
        raise InputError(f"design has shape {xx.shape}, responses {y.shape}")
    p = xx.shape[2]
    if n <= p:
        raise InputError(f"{n} observations cannot support a model with {p} parameters")
    if (
        not per_row
        and np.asarray(x).ndim == 2
        and _singular(_unit_columns(xx[:1]), RCOND_DESIGN)[0]
    ):
        raise InputError(
            "the model cannot be fitted: a column of the design is constant or duplicated (for "
            "example every day treated, or a hot spot with no crime at all)"
        )
    off = np.zeros((t_n, n)) if offset is None else np.asarray(offset, dtype=float)
    off = np.broadcast_to(off, (t_n, n))
    if np.any(y < 0) or not np.all(np.isfinite(y)):
        raise InputError("counts (or harm) must be finite and not negative")

    if beta0 is not None:
        eta = np.einsum("tnp,p->tn", xx, np.asarray(beta0, float)) + off
        mu = np.exp(np.clip(eta, -30, 30))
    else:
        mu = (y + y.mean(axis=1, keepdims=True)) / 2 + 1e-3
        eta = np.log(mu)
    beta = np.zeros((t_n, p))
    dev_old = np.full(t_n, np.inf)
    converged = np.zeros(t_n, dtype=bool)
    failed = np.zeros(t_n, dtype=bool)  # singular at some step (per_row only): no fit
    xtwx = np.zeros((t_n, p, p))
    for _ in range(max_iter):
        z = eta - off + (y - mu) / mu
        w = mu
        xtwx = _xtwx(xx, w)
        xtwz = np.einsum("tnp,tn->tp", xx, w * z)
        try:
            new_beta = np.linalg.solve(xtwx, xtwz[..., None])[..., 0]
        except np.linalg.LinAlgError as exc:
            if not per_row:
                raise InputError(
                    "the model cannot be fitted: a column of the design is constant or "
                    "duplicated (for example every day treated, or a hot spot with no crime at all)"
                ) from exc
            # solve response by response: a singular one fails alone, frozen where it stood
            new_beta = beta.copy()
            for r in np.flatnonzero(~failed).tolist():
                try:
                    new_beta[r] = np.linalg.solve(xtwx[r], xtwz[r])
                except np.linalg.LinAlgError:
                    failed[r] = True
        new_beta[failed] = beta[failed]
        beta = new_beta
        eta = np.einsum("tnp,tp->tn", xx, beta) + off
        eta = np.clip(eta, -30, 30)
        mu = np.exp(eta)
        with np.errstate(divide="ignore", invalid="ignore"):
            term = np.where(y > 0, y * np.log(y / mu), 0.0)
        dev = 2 * np.sum(term - (y - mu), axis=1)
        converged = np.abs(dev - dev_old) <= tol * (np.abs(dev) + 0.1)
        converged[failed] = True  # nothing more to do for them (reported as failed below)
        dev_old = dev
        if converged.all():
            break
    xtwx = _xtwx(xx, mu)
    inv, cols_off, ran_off = _inverse_information(xx, mu, xtwx, shared=np.asarray(x).ndim == 2)
    converged[ran_off] = False
    # the scale of the fit without the run-off rows and coefficients (those rows have no
    # Pearson residual: counting them narrowed every interval, ~9% with one empty weekday)
    rows_off = (mu <= RUN_OFF * mu.mean(axis=1, keepdims=True)).sum(axis=1)
    df_resid = np.maximum(n - rows_off - (p - cols_off.sum(axis=1)), 1).astype(np.int64)
    phi = np.sum((y - mu) ** 2 / mu, axis=1) / df_resid if scale == "X2" else np.ones(t_n)
    cov = inv * phi[:, None, None]
    if failed.any():
        converged[failed] = False
        beta[failed] = np.nan
        cov[failed] = np.nan
        phi[failed] = np.nan
    return BatchFit(beta=beta, cov=cov, scale=phi, converged=converged, df_resid=df_resid)


def identified(x: Array, t: Array, j: int = 1, tol: float = 1e-8) -> NDArray[np.bool_]:
    """Whether each row of ``t`` (T, n), put in column ``j`` of the shared design ``x`` (n, p),
    is estimable: not a linear combination of the other columns.

    A re-drawn or simulated assignment can be confounded with the other terms (over two weeks,
    patrol on every day of the first week is the trend plus weekday effects). Its coefficient is
    then not estimable; the IRLS may or may not find the system exactly singular, and when it does
    not, it returns an arbitrary coefficient with a huge standard error. This checks the design
    itself (fitting weights are positive, so they do not change the rank).
    """
    rest = np.delete(np.asarray(x, float), j, axis=1)
    q, _ = np.linalg.qr(rest)
    tt = np.atleast_2d(np.asarray(t, float))
    resid = tt - (tt @ q) @ q.T
    scale = np.maximum(np.linalg.norm(tt, axis=1), 1.0)
    return np.asarray(np.linalg.norm(resid, axis=1) > tol * scale * np.sqrt(tt.shape[1]))
