"""Payment prediction: P(paid late) and expected days late for an invoice, from the company's own history.

**What the model may know.** The features of an invoice are computed as of the *start* of its issue
date ``t``: its own amount, terms and calendar, the debtor's invoices issued before ``t`` and what had
happened to them by the end of ``t - 1`` (settled and how late, or still open and how overdue), and the
company-wide share of late payments among invoices settled in the 90 days before ``t``. Nothing dated
``t`` or later is read (``tests/unit/test_prediction.py`` appends future history and checks that the
features do not move).

**Labels.** An invoice is *late* if it was settled after its due date, or is still open after its due
date on the labelling day; *on time* if settled on or before the due date. Invoices still open and not
yet due have no label. Days late (for the regressor) are known only for settled invoices.

**Model.** A :class:`~sklearn.ensemble.HistGradientBoostingClassifier` calibrated with
:class:`~sklearn.calibration.CalibratedClassifierCV` (isotonic with >= 1,000 training invoices, sigmoid
below, 3 folds) for P(late), and a :class:`~sklearn.ensemble.HistGradientBoostingRegressor` for days late
(clipped to 0..365). scikit-learn is imported inside the functions that need it, so importing this module
is cheap for the daily run.

**Reasons.** For each prediction, every feature in turn is set to its training median and the model is
asked again; the change in probability is that feature's contribution ("with a typical value here, the
probability would be 12 points lower"). The largest contributions are returned as reasons. It is a
one-at-a-time sensitivity, not a decomposition: contributions need not add up to the prediction.

**Evaluation.** Invoices with a known outcome are ordered by issue date; the first 70 % train, the last
30 % test. Training sees only what was known on the first test invoice's issue date (labels of training
invoices still open then are dropped, or taken as late if already overdue), so the test is a true
forward test. Reported: ROC AUC, Brier score, accuracy at 0.5 against the majority class of the training
period, and mean absolute error of days late against the training median.

**Too little history.** Training needs at least ``MIN_TRAINING_INVOICES`` invoices with a known outcome and
``MIN_PER_CLASS`` of each class. Below that, :func:`train` returns a :class:`FallbackModel`: the debtor's own
late share (with at least 3 known outcomes, shrunk towards the company share), else its segment's share
(at least 10 outcomes), else the company's; every prediction carries a notice saying so, and with no
outcome at all the probability is None rather than a guess.
"""

from __future__ import annotations

import bisect
import math
import statistics
import time
import warnings
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from mahnwerk.core.behaviour import ChannelResponse, InvoiceRecord, Reason, gettext_noop

MIN_TRAINING_INVOICES = 200
MIN_PER_CLASS = 20
COMPANY_WINDOW_DAYS = 90
MAX_DAYS_LATE = 365
FORMAT_VERSION = 1

FEATURES: tuple[str, ...] = (
    "amount_log",
    "terms_days",
    "issue_month",
    "issue_weekday",
    "prior_invoices",
    "prior_paid",
    "prior_late_share",
    "prior_avg_days_late",
    "prior_weighted_days_late",
    "last_days_late",
    "prior_avg_days_to_pay",
    "days_since_last_invoice",
    "customer_age_days",
    "open_count",
    "overdue_count",
    "overdue_amount_log",
    "max_days_overdue",
    "amount_vs_usual",
    "company_late_share_90d",
)

FEATURE_LABELS: Mapping[str, str] = {
    "amount_log": gettext_noop("Invoice amount"),
    "terms_days": gettext_noop("Payment terms (days)"),
    "issue_month": gettext_noop("Month of the invoice"),
    "issue_weekday": gettext_noop("Weekday of the invoice (0 = Monday)"),
    "prior_invoices": gettext_noop("Earlier invoices of this customer"),
    "prior_paid": gettext_noop("Earlier invoices paid"),
    "prior_late_share": gettext_noop("Share of earlier invoices paid late or overdue"),
    "prior_avg_days_late": gettext_noop("Average days late on earlier invoices"),
    "prior_weighted_days_late": gettext_noop("Amount-weighted days late on earlier invoices"),
    "last_days_late": gettext_noop("Days late on the last paid invoice"),
    "prior_avg_days_to_pay": gettext_noop("Average days to pay"),
    "days_since_last_invoice": gettext_noop("Days since the previous invoice"),
    "customer_age_days": gettext_noop("Days since the first invoice"),
    "open_count": gettext_noop("Open invoices at the invoice date"),
    "overdue_count": gettext_noop("Overdue invoices at the invoice date"),
    "overdue_amount_log": gettext_noop("Overdue amount at the invoice date"),
    "max_days_overdue": gettext_noop("Oldest overdue item (days)"),
    "amount_vs_usual": gettext_noop("Amount compared with the customer's usual invoice"),
    "company_late_share_90d": gettext_noop("Share of all invoices paid late in the last 90 days"),
}

NAN = float("nan")


# --------------------------------------------------------------------------------------------------
# Features


@dataclass(frozen=True, slots=True)
class _CompanyIndex:
    """Settled invoices of the company ordered by paid date, with running counts of late ones."""

    paid_dates: list[date]
    late_cumulative: list[int]  # late_cumulative[i] = late among the first i

    @classmethod
    def build(cls, records: Iterable[InvoiceRecord]) -> _CompanyIndex:
        settled = sorted((r.paid_date, r.paid_date > r.due_date) for r in records if r.paid_date is not None)
        cumulative = [0]
        for _, late in settled:
            cumulative.append(cumulative[-1] + late)
        return cls([d for d, _ in settled], cumulative)

    def late_share(self, start: date, end: date) -> float:
        """Share late among invoices settled on ``start`` .. ``end`` (inclusive); NaN if none."""
        lo = bisect.bisect_left(self.paid_dates, start)
        hi = bisect.bisect_right(self.paid_dates, end)
        return (self.late_cumulative[hi] - self.late_cumulative[lo]) / (hi - lo) if hi > lo else NAN


def _features(target: InvoiceRecord, prior: Sequence[InvoiceRecord], company: _CompanyIndex) -> list[float]:
    """Features of ``target`` from ``prior`` (the debtor's invoices issued before it): see the module doc."""
    t = target.issue_date
    known = t - timedelta(days=1)  # the end of the day before the invoice: all that may be known
    settled_late: list[int] = []
    settled_amounts: list[int] = []
    to_pay: list[int] = []
    last_paid: tuple[date, int] | None = None
    open_count = overdue_count = overdue_amount = max_overdue = 0
    for p in prior:
        if p.is_paid_by(known):
            assert p.paid_date is not None
            late = (p.paid_date - p.due_date).days
            settled_late.append(late)
            settled_amounts.append(p.amount_minor)
            to_pay.append((p.paid_date - p.issue_date).days)
            if last_paid is None or p.paid_date >= last_paid[0]:
                last_paid = (p.paid_date, late)
        else:
            open_count += 1
            if p.due_date < t:
                overdue_count += 1
                overdue_amount += p.open_at(known)
                max_overdue = max(max_overdue, (t - p.due_date).days)
    known_outcomes = len(settled_late) + overdue_count
    late_count = sum(1 for d in settled_late if d > 0) + overdue_count
    weight = sum(settled_amounts)
    amounts = [p.amount_minor for p in prior]
    return [
        math.log1p(target.amount_minor),
        float(target.terms_days),
        float(t.month),
        float(t.weekday()),
        float(len(prior)),
        float(len(settled_late)),
        late_count / known_outcomes if known_outcomes else NAN,
        statistics.fmean(settled_late) if settled_late else NAN,
        sum(a * max(0, d) for a, d in zip(settled_amounts, settled_late, strict=True)) / weight
        if weight
        else NAN,
        float(last_paid[1]) if last_paid is not None else NAN,
        statistics.fmean(to_pay) if to_pay else NAN,
        float((t - max(p.issue_date for p in prior)).days) if prior else NAN,
        float((t - min(p.issue_date for p in prior)).days) if prior else NAN,
        float(open_count),
        float(overdue_count),
        math.log1p(overdue_amount),
        float(max_overdue),
        target.amount_minor / statistics.median(amounts) if amounts else NAN,
        company.late_share(t - timedelta(days=COMPANY_WINDOW_DAYS), known),
    ]


def invoice_features(target: InvoiceRecord, history: Iterable[InvoiceRecord]) -> dict[str, float]:
    """The features of one invoice from any history (other debtors' and later records are ignored)."""
    records = list(history)
    prior = [
        r
        for r in records
        if r.debtor_id == target.debtor_id
        and r.issue_date < target.issue_date
        and r.invoice_id != target.invoice_id
    ]
    prior.sort(key=lambda r: (r.issue_date, r.invoice_id))
    return dict(zip(FEATURES, _features(target, prior, _CompanyIndex.build(records)), strict=True))


def feature_matrix(targets: Sequence[InvoiceRecord], history: Iterable[InvoiceRecord]) -> list[list[float]]:
    """Feature rows for many invoices at once (one grouping of the history by debtor)."""
    records = list(history)
    company = _CompanyIndex.build(records)
    by_debtor: dict[str, list[InvoiceRecord]] = defaultdict(list)
    for r in records:
        by_debtor[r.debtor_id].append(r)
    issue_dates: dict[str, list[date]] = {}
    for debtor, rows in by_debtor.items():
        rows.sort(key=lambda r: (r.issue_date, r.invoice_id))
        issue_dates[debtor] = [r.issue_date for r in rows]
    out: list[list[float]] = []
    for target in targets:
        rows = by_debtor.get(target.debtor_id, [])
        end = bisect.bisect_left(issue_dates.get(target.debtor_id, []), target.issue_date)
        out.append(_features(target, rows[:end], company))
    return out


# --------------------------------------------------------------------------------------------------
# Labels


@dataclass(frozen=True, slots=True)
class Outcome:
    late: bool
    days_late: int | None  # known only for settled invoices


def outcome_as_of(record: InvoiceRecord, day: date) -> Outcome | None:
    """What was known about ``record``'s punctuality at the end of ``day``; None if not yet knowable."""
    if record.is_paid_by(day):
        assert record.paid_date is not None
        late_days = (record.paid_date - record.due_date).days
        return Outcome(late_days > 0, max(0, late_days))
    if record.issue_date <= day and record.due_date < day:
        return Outcome(True, None)
    return None


# --------------------------------------------------------------------------------------------------
# Models


class InsufficientHistory(ValueError):
    """Too few invoices with a known outcome to train or evaluate a model; ``notice`` explains."""

    def __init__(self, notice: Reason) -> None:
        super().__init__(notice.render())
        self.notice = notice


@dataclass(slots=True)
class PaymentModel:
    """A trained model; save with :func:`save_model`, load with :func:`load_model`."""

    classifier: Any
    regressor: Any | None
    medians: tuple[float, ...]
    trained_until: date
    n_train: int
    late_share: float
    features: tuple[str, ...] = FEATURES
    sklearn_version: str = ""
    format_version: int = FORMAT_VERSION


@dataclass(slots=True)
class FallbackModel:
    """Averages used when the history is too small for a model (see the module doc)."""

    trained_until: date
    n_known: int
    late_share: float | None
    mean_days_late: float | None
    debtors: dict[str, tuple[int, int, int, int]]  # debtor -> (known, late, settled, days late of settled)
    notice: Reason
    format_version: int = FORMAT_VERSION


@dataclass(frozen=True, slots=True)
class Prediction:
    invoice_id: str
    debtor_id: str
    due_date: date
    open_minor: int
    p_late: float | None  # None only with no history at all
    expected_days_late: float | None
    reasons: tuple[Reason, ...] = ()
    notice: Reason | None = None  # set when the fallback was used
    already_overdue: bool = False  # overdue on as_of: p_late is 1 and days late at least the age


def _labelled(records: Sequence[InvoiceRecord], label_day: date) -> list[tuple[InvoiceRecord, Outcome]]:
    pairs = [(r, outcome_as_of(r, label_day)) for r in records if r.issue_date <= label_day]
    labelled = [(r, o) for r, o in pairs if o is not None]
    labelled.sort(key=lambda ro: (ro[0].issue_date, ro[0].invoice_id))
    return labelled


def _shortage(labelled: Sequence[tuple[InvoiceRecord, Outcome]]) -> Reason | None:
    late = sum(o.late for _, o in labelled)
    on_time = len(labelled) - late
    if len(labelled) < MIN_TRAINING_INVOICES or min(late, on_time) < MIN_PER_CLASS:
        return Reason(
            gettext_noop(
                "Too little payment history for a trained model: {count} invoices with a known outcome "
                "({late} late, {on_time} on time); at least {needed} are needed, "
                "with {per_class} of each kind."
            ),
            {
                "count": len(labelled),
                "late": late,
                "on_time": on_time,
                "needed": MIN_TRAINING_INVOICES,
                "per_class": MIN_PER_CLASS,
            },
        )
    return None


def _single_thread() -> Any:
    """Fit and predict on one OpenMP thread: for company-sized histories this is faster than two
    threads, and on a busy two-core machine spinning OpenMP threads were measured 8x slower."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


def _fit(
    rows: list[list[float]], labelled: Sequence[tuple[InvoiceRecord, Outcome]], until: date
) -> PaymentModel:
    with _single_thread():
        return _fit_models(rows, labelled, until)


def _fit_models(
    rows: list[list[float]], labelled: Sequence[tuple[InvoiceRecord, Outcome]], until: date
) -> PaymentModel:
    import numpy as np
    import sklearn
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    x = np.asarray(rows, dtype=float)
    y = np.asarray([o.late for _, o in labelled], dtype=int)
    n = len(y)
    base = HistGradientBoostingClassifier(
        max_iter=200,
        learning_rate=0.05,
        max_leaf_nodes=15,
        min_samples_leaf=max(10, min(40, n // 50)),
        l2_regularization=1.0,
        random_state=0,
    )
    classifier = CalibratedClassifierCV(base, method="isotonic" if n >= 1000 else "sigmoid", cv=3)
    classifier.fit(x, y)
    settled = [i for i, (_, o) in enumerate(labelled) if o.days_late is not None]
    regressor = None
    if len(settled) >= MIN_PER_CLASS:
        days = np.asarray([min(MAX_DAYS_LATE, labelled[i][1].days_late or 0) for i in settled], dtype=float)
        regressor = HistGradientBoostingRegressor(
            max_iter=200, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=20, random_state=0
        ).fit(x[settled], days)
    with warnings.catch_warnings():  # a feature with no value at all has a NaN median: fine
        warnings.simplefilter("ignore", RuntimeWarning)
        medians = tuple(float(v) for v in np.nanmedian(x, axis=0))
    return PaymentModel(
        classifier=classifier,
        regressor=regressor,
        medians=medians,
        trained_until=until,
        n_train=n,
        late_share=float(y.mean()),
        sklearn_version=sklearn.__version__,
    )


def _fallback(
    labelled: Sequence[tuple[InvoiceRecord, Outcome]], until: date, notice: Reason
) -> FallbackModel:
    debtors: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r, o in labelled:
        stats = debtors[r.debtor_id]
        stats[0] += 1
        stats[1] += o.late
        if o.days_late is not None:
            stats[2] += 1
            stats[3] += o.days_late
    settled = [o.days_late for _, o in labelled if o.days_late is not None]
    return FallbackModel(
        trained_until=until,
        n_known=len(labelled),
        late_share=sum(o.late for _, o in labelled) / len(labelled) if labelled else None,
        mean_days_late=statistics.fmean(settled) if settled else None,
        debtors={k: (v[0], v[1], v[2], v[3]) for k, v in debtors.items()},
        notice=notice,
    )


def train(records: Sequence[InvoiceRecord], as_of: date) -> PaymentModel | FallbackModel:
    """Train on every invoice whose outcome is known at the end of ``as_of``; fall back when too few."""
    labelled = _labelled(records, as_of)
    notice = _shortage(labelled)
    if notice is not None:
        return _fallback(labelled, as_of, notice)
    rows = feature_matrix([r for r, _ in labelled], records)
    return _fit(rows, labelled, as_of)


# --------------------------------------------------------------------------------------------------
# Prediction


def _predict_arrays(model: PaymentModel, rows: list[list[float]]) -> tuple[list[float], list[float]]:
    import numpy as np

    x = np.asarray(rows, dtype=float)
    with _single_thread():
        p = model.classifier.predict_proba(x)[:, 1]
        d = model.regressor.predict(x) if model.regressor is not None else np.zeros(len(rows))
    return [float(v) for v in p], [float(min(MAX_DAYS_LATE, max(0.0, v))) for v in d]


def _display(feature: str, value: float, target: InvoiceRecord) -> str:
    if math.isnan(value):
        return "-"
    if feature in ("amount_log", "overdue_amount_log"):
        minor = target.amount_minor if feature == "amount_log" else round(math.expm1(value))
        from mahnwerk.core.money import to_decimal

        return f"{to_decimal(minor, target.currency):,f} {target.currency}"
    if feature in ("prior_late_share", "company_late_share_90d"):
        return f"{value:.0%}"
    if feature == "amount_vs_usual":
        return f"{value:.1f}x"
    if value == int(value):
        return str(int(value))
    return f"{value:.1f}"


def explain(
    model: PaymentModel, rows: list[list[float]], targets: Sequence[InvoiceRecord], top: int = 3
) -> list[tuple[Reason, ...]]:
    """Top reasons per row: features whose typical (median) value would change P(late) most."""
    import numpy as np

    if not rows:
        return []
    x = np.asarray(rows, dtype=float)
    n, k = x.shape
    variants = np.repeat(
        x[:, None, :], k + 1, axis=1
    )  # [row, 0 = as is / 1+j = feature j at median, feature]
    for j in range(k):
        variants[:, j + 1, j] = model.medians[j]
    with _single_thread():
        p = model.classifier.predict_proba(variants.reshape(n * (k + 1), k))[:, 1].reshape(n, k + 1)
    out: list[tuple[Reason, ...]] = []
    for i in range(n):
        contributions = p[i, 0] - p[i, 1:]
        order = sorted(range(k), key=lambda j: -abs(contributions[j]))
        reasons = []
        for j in order[:top]:
            points = round(100 * float(contributions[j]))
            if points == 0:
                continue
            feature = model.features[j]
            reasons.append(
                Reason(
                    gettext_noop("{label}: {value} ({points:+d} percentage points against a typical value)"),
                    {
                        "label": FEATURE_LABELS[feature],
                        "value": _display(feature, x[i, j], targets[i]),
                        "points": points,
                    },
                    ("label",),
                )
            )
        out.append(tuple(reasons))
    return out


def predict(
    model: PaymentModel | FallbackModel,
    history: Sequence[InvoiceRecord],
    open_invoices: Sequence[InvoiceRecord],
    as_of: date,
    segments: Mapping[str, str] | None = None,
    with_reasons: bool = True,
) -> list[Prediction]:
    """Predict every open invoice (features as of its issue date); ``history`` is the company's records.

    ``segments`` (debtor -> segment key) is used by the fallback only. An invoice already overdue on
    ``as_of`` gets ``p_late = 1`` and at least its current age as days late (``already_overdue``).
    """
    if isinstance(model, FallbackModel):
        return _predict_fallback(model, open_invoices, as_of, segments or {})
    rows = feature_matrix(open_invoices, history)
    p_late, days = _predict_arrays(model, rows) if rows else ([], [])
    reasons = explain(model, rows, open_invoices) if with_reasons else [()] * len(rows)
    out = []
    for inv, p, d, why in zip(open_invoices, p_late, days, reasons, strict=True):
        overdue = inv.due_date < as_of and inv.open_at(as_of) > 0
        if overdue:
            why = (
                Reason(gettext_noop("Already overdue by {days} days"), {"days": (as_of - inv.due_date).days}),
            )
            p, d = 1.0, max(d, float((as_of - inv.due_date).days))
        out.append(
            Prediction(
                inv.invoice_id, inv.debtor_id, inv.due_date, inv.open_at(as_of), p, d, why, None, overdue
            )
        )
    return out


def _predict_fallback(
    model: FallbackModel, open_invoices: Sequence[InvoiceRecord], as_of: date, segments: Mapping[str, str]
) -> list[Prediction]:
    prior_strength = 3
    segment_stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for debtor, stats in model.debtors.items():
        if debtor in segments:
            acc = segment_stats[segments[debtor]]
            for i in range(4):
                acc[i] += stats[i]
    out = []
    for inv in open_invoices:
        known, late, settled, days_sum = model.debtors.get(inv.debtor_id, (0, 0, 0, 0))
        seg = segment_stats.get(segments.get(inv.debtor_id, ""), [0, 0, 0, 0])
        p: float | None
        days: float | None
        if known >= 3 and model.late_share is not None:
            basis = gettext_noop("the customer's own invoices")
            p = (late + prior_strength * model.late_share) / (known + prior_strength)
            days = days_sum / settled if settled else model.mean_days_late
        elif seg[0] >= 10:
            basis = gettext_noop("the invoices of customers in the same segment")
            p = seg[1] / seg[0]
            days = seg[3] / seg[2] if seg[2] else model.mean_days_late
        elif model.late_share is not None:
            basis = gettext_noop("all invoices of the company")
            p, days = model.late_share, model.mean_days_late
        else:
            basis = gettext_noop("nothing: there is no payment history yet")
            p = days = None
        notice = Reason(
            gettext_noop("{shortage} Estimated from {basis}."),
            {"shortage": model.notice, "basis": basis},
            ("basis",),
        )
        overdue = inv.due_date < as_of and inv.open_at(as_of) > 0
        if overdue:
            p = 1.0
            days = max(days or 0.0, float((as_of - inv.due_date).days))
        out.append(
            Prediction(
                inv.invoice_id, inv.debtor_id, inv.due_date, inv.open_at(as_of), p, days, (), notice, overdue
            )
        )
    return out


# --------------------------------------------------------------------------------------------------
# Evaluation


@dataclass(frozen=True, slots=True)
class Evaluation:
    n_train: int
    n_test: int
    split_date: date  # issue date of the first test invoice
    auc: float | None  # None when the test period holds one class only
    brier: float
    accuracy: float
    majority_class: str  # "late" or "on_time", from the training period
    baseline_accuracy: float  # always predicting the majority class
    baseline_brier: float  # always predicting the training period's late share
    mae_days: float | None
    baseline_mae_days: float | None  # always predicting the training median of days late
    test_late_share: float
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "n_train": self.n_train,
            "n_test": self.n_test,
            "split_date": self.split_date.isoformat(),
            "auc": self.auc,
            "brier": self.brier,
            "accuracy": self.accuracy,
            "majority_class": self.majority_class,
            "baseline_accuracy": self.baseline_accuracy,
            "baseline_brier": self.baseline_brier,
            "mae_days": self.mae_days,
            "baseline_mae_days": self.baseline_mae_days,
            "test_late_share": self.test_late_share,
            "seconds": self.seconds,
        }


def evaluate(records: Sequence[InvoiceRecord], as_of: date, test_share: float = 0.3) -> Evaluation:
    """Time-ordered forward test (see the module doc); raises :class:`InsufficientHistory` when too small."""
    started = time.perf_counter()
    labelled = _labelled(records, as_of)
    cut = int(len(labelled) * (1 - test_share))
    if cut <= 0 or cut >= len(labelled):
        raise InsufficientHistory(_shortage([]) or Reason(gettext_noop("Nothing to test.")))
    test = labelled[cut:]
    split_date = test[0][0].issue_date
    train_day = split_date - timedelta(days=1)
    train_labelled = _labelled([r for r, _ in labelled[:cut] if r.issue_date < split_date], train_day)
    notice = _shortage(train_labelled)
    if notice is not None:
        raise InsufficientHistory(notice)
    import numpy as np
    from sklearn.metrics import brier_score_loss, roc_auc_score

    model = _fit(feature_matrix([r for r, _ in train_labelled], records), train_labelled, train_day)
    p, days = _predict_arrays(model, feature_matrix([r for r, _ in test], records))
    y = np.asarray([o.late for _, o in test], dtype=int)
    pa = np.asarray(p)
    majority = 1 if model.late_share >= 0.5 else 0
    auc = float(roc_auc_score(y, pa)) if 0 < y.sum() < len(y) else None
    settled_test = [(i, o.days_late) for i, (_, o) in enumerate(test) if o.days_late is not None]
    train_days = [o.days_late for _, o in train_labelled if o.days_late is not None]
    mae = base_mae = None
    if settled_test and train_days and model.regressor is not None:
        actual = np.asarray([min(MAX_DAYS_LATE, d) for _, d in settled_test], dtype=float)
        guessed = np.asarray([days[i] for i, _ in settled_test])
        mae = float(np.mean(np.abs(actual - guessed)))
        base_mae = float(np.mean(np.abs(actual - statistics.median(train_days))))
    return Evaluation(
        n_train=model.n_train,
        n_test=len(test),
        split_date=split_date,
        auc=auc,
        brier=float(brier_score_loss(y, pa)),
        accuracy=float(np.mean((pa >= 0.5) == y)),
        majority_class="late" if majority else "on_time",
        baseline_accuracy=float(np.mean(y == majority)),
        baseline_brier=float(brier_score_loss(y, np.full(len(y), model.late_share))),
        mae_days=mae,
        baseline_mae_days=base_mae,
        test_late_share=float(y.mean()),
        seconds=time.perf_counter() - started,
    )


# --------------------------------------------------------------------------------------------------
# Persistence


def save_model(model: PaymentModel | FallbackModel, path: str | Path) -> Path:
    """Write the model with joblib (compressed). Load only files you wrote yourself: it is a pickle."""
    import joblib

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, target, compress=3)
    return target


def load_model(path: str | Path) -> PaymentModel | FallbackModel:
    import joblib

    model = joblib.load(Path(path))
    if not isinstance(model, (PaymentModel, FallbackModel)) or model.format_version != FORMAT_VERSION:
        raise ValueError(f"{path} does not hold a payment model of format {FORMAT_VERSION}; train it again")
    if isinstance(model, PaymentModel) and model.features != FEATURES:
        raise ValueError(f"{path} was trained with other features; train it again")
    return model


# --------------------------------------------------------------------------------------------------
# Worklist order


@dataclass(frozen=True, slots=True)
class WorklistItem:
    invoice_id: str
    debtor_id: str
    open_minor: int
    p_loss: float  # probability the amount is not collected without action (P(late) when nothing better)
    channel: str  # channel of the next action
    debtor_response: ChannelResponse | None = None  # the debtor's history on that channel
    company_response: float | None = None  # the company-wide share answered on that channel
    currency: str = "EUR"
    due_date: date | None = None


@dataclass(frozen=True, slots=True)
class WorklistEntry:
    item: WorklistItem
    value_minor: float  # expected value of acting now, in minor units
    help_share: float
    reason: Reason


DEFAULT_HELP_SHARE = 0.5  # used, and said, when no message on the channel has an outcome yet
HELP_PRIOR_STRENGTH = 5


def help_share(item: WorklistItem) -> tuple[float, bool]:
    """How much the next action tends to help: the debtor's response share on the channel, shrunk
    towards the company's (``HELP_PRIOR_STRENGTH`` pseudo-messages); (share, assumed?)."""
    prior = item.company_response
    sent = item.debtor_response.sent if item.debtor_response else 0
    answered = item.debtor_response.followed_by_payment if item.debtor_response else 0
    if prior is None:
        if sent == 0:
            return DEFAULT_HELP_SHARE, True
        prior = DEFAULT_HELP_SHARE
    return (answered + HELP_PRIOR_STRENGTH * prior) / (sent + HELP_PRIOR_STRENGTH), False


def worklist_order(items: Iterable[WorklistItem]) -> list[WorklistEntry]:
    """Order by expected value of acting now = open amount x P(loss) x help share, largest first.

    Ties go to the larger amount, then the older due date, then the invoice id (deterministic).
    """
    from mahnwerk.core.money import format_money

    entries = []
    for item in items:
        share, assumed = help_share(item)
        value = item.open_minor * item.p_loss * share
        message = (
            gettext_noop(
                # xgettext:no-python-format (a per-cent sign, not a placeholder)
                "{amount} open, {p_loss}% risk of loss; no history on {channel} yet, {share}% help assumed"
            )
            if assumed
            # xgettext:no-python-format (a per-cent sign, not a placeholder)
            else gettext_noop("{amount} open, {p_loss}% risk of loss, {channel} helped in {share}% of cases")
        )
        reason = Reason(
            message,
            {
                "amount": format_money(item.open_minor, item.currency),
                "p_loss": round(100 * item.p_loss),
                "channel": item.channel,
                "share": round(100 * share),
            },
        )
        entries.append(WorklistEntry(item, value, share, reason))
    entries.sort(
        key=lambda e: (-e.value_minor, -e.item.open_minor, e.item.due_date or date.max, e.item.invoice_id)
    )
    return entries
