"""Experiments: create, start (random assignment stratified by segment, on the timeline), stop, report the
outcomes per arm, promote the winner to be the segment's playbook.

An experiment changes only which playbook a debtor's run follows (through ``insights.services.segment_playbooks``);
the contact law and the careful-run rules apply to every arm alike, and a playbook set by hand on a debtor's
case still wins (such debtors are not assigned).
"""

from __future__ import annotations

import dataclasses
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.db.models import QuerySet, Sum

from mahnwerk.collection.models import Case, Playbook
from mahnwerk.core import experiments as core
from mahnwerk.experiments.models import Assignment, Experiment, ExperimentStatus
from mahnwerk.ids import parse_id
from mahnwerk.ledger import timeline
from mahnwerk.ledger.models import Company, Contact, Invoice, Payment, TimelineEvent

NO_SEGMENT = ""


class ExperimentError(Exception):
    pass


def _playbook(company: Company, ident: str | int) -> Playbook:
    text = str(ident)
    found = (
        Playbook.objects.filter(company=company, pk=pk).first()
        if (pk := parse_id(text))
        else Playbook.objects.filter(company=company, name__iexact=text).first()
    )
    if found is None:
        raise ExperimentError(f"no playbook {text!r} in this company")
    return found


def get_experiment(company: Company, ident: str | int) -> Experiment:
    text = str(ident)
    found = (
        Experiment.objects.filter(company=company, pk=pk).first()
        if (pk := parse_id(text))
        else Experiment.objects.filter(company=company, name=text).first()
    )
    if found is None:
        raise ExperimentError(f"no experiment {text!r} in this company")
    return found


def create_experiment(
    company: Company,
    name: str,
    arms: Sequence[str | int],
    segments: Sequence[str] = (),
    seed: int | None = None,
) -> Experiment:
    """A draft experiment; ``arms``: playbooks by id or name, the first the control."""
    playbooks = [_playbook(company, a) for a in arms]
    if len(playbooks) < 2 or len({p.pk for p in playbooks}) != len(playbooks):
        raise ExperimentError("an experiment needs at least two different playbooks")
    if Experiment.objects.filter(company=company, name=name).exists():
        raise ExperimentError(f"an experiment named {name!r} exists already")
    return Experiment.objects.create(
        company=company,
        name=name,
        arms=[p.pk for p in playbooks],
        segments=sorted(set(segments)),
        seed=seed if seed is not None else zlib.crc32(name.encode()),
    )


def _segments(company: Company, debtor_ids: Sequence[int], as_of: date) -> dict[int, str]:
    """The debtors' segments: stored, or for a debtor not rated yet chosen now from its history as of
    ``as_of`` (``insights.services.segment_keys``), so a new debtor joins the stratum it belongs to."""
    from mahnwerk.insights.services import segment_keys

    ids = list(debtor_ids)
    if not ids:
        return {}
    keys = segment_keys(company, ids if len(ids) <= 900 else None, as_of)  # no endless id list
    return {pk: keys[pk] for pk in ids if pk in keys}


@transaction.atomic
def assign(experiment: Experiment, as_of: date, partition: tuple[int, int] = (0, 1)) -> int:
    """Assign the debtors with open items that are not assigned yet (in its segments, not in another running
    experiment, without a playbook set by hand), at random and balanced per segment; each on its timeline.
    ``partition=(i, n)``: only the debtors with ``id % n == i`` (a worker of a shared run). Returns how many
    were assigned."""
    if experiment.status != ExperimentStatus.RUNNING:
        raise ExperimentError("only a running experiment assigns debtors")
    company = experiment.company
    index, parts = partition
    owing = {
        row["debtor_id"]: row["open"]
        for row in Invoice.objects.filter(company=company, open_minor__gt=0, amount_minor__gt=0)
        .values("debtor_id")
        .annotate(open=Sum("open_minor"))
        if row["debtor_id"] % parts == index
    }
    taken = set(
        Assignment.objects.filter(
            experiment__company=company, experiment__status=ExperimentStatus.RUNNING
        ).values_list("debtor_id", flat=True)
    )
    manual = set(
        Case.objects.filter(company=company, playbook__isnull=False).values_list("debtor_id", flat=True)
    )
    candidates = [d for d in owing if d not in taken and d not in manual]
    segments = _segments(company, candidates, as_of)
    wanted = set(experiment.segments)
    strata: dict[str, list[int]] = defaultdict(list)
    for debtor_id in candidates:
        segment = segments.get(debtor_id, NO_SEGMENT)
        if not wanted or segment in wanted:
            strata[segment].append(debtor_id)
    existing: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for segment, arm in experiment.assignments.values_list("segment", "arm_id"):
        existing[segment][arm] += 1
    arms = [int(a) for a in experiment.arms]
    chosen = core.assign_balanced(strata, arms, experiment.seed, existing)
    names = dict(Playbook.objects.filter(pk__in=arms).values_list("id", "name"))
    Assignment.objects.bulk_create(
        [
            Assignment(
                experiment=experiment,
                debtor_id=debtor_id,
                arm_id=arm,
                segment=segments.get(debtor_id, NO_SEGMENT),
                assigned_on=as_of,
                open_minor=owing[debtor_id],
            )
            for debtor_id, arm in sorted(chosen.items())
        ],
        batch_size=1000,
    )
    timeline.record(
        timeline.event(
            debtor_id,
            company.pk,
            "experiment_assigned",
            as_of,
            experiment=experiment.name,
            arm=arms.index(arm) + 1,
            playbook=names.get(arm, str(arm)),
            segment=segments.get(debtor_id, "-"),
        )
        for debtor_id, arm in sorted(chosen.items())
    )
    return len(chosen)


def assign_new_debtors(company: Company, as_of: date, partition: tuple[int, int] = (0, 1)) -> int:
    """What the run does before it decides: every running experiment of the company takes the debtors it has
    not met yet (new customers, customers owing again) as :func:`assign` does — at random, balanced within
    their segment (a debtor not rated yet: the segment its history so far gives), on the timeline — so their
    first step already follows their arm. One query when no experiment runs. Returns how many joined."""
    running = list(Experiment.objects.filter(company=company, status=ExperimentStatus.RUNNING).order_by("id"))
    return sum(assign(experiment, as_of, partition) for experiment in running)


@transaction.atomic
def start_experiment(experiment: Experiment, as_of: date) -> int:
    """Start a draft experiment and assign its debtors; returns how many were assigned."""
    if experiment.status != ExperimentStatus.DRAFT:
        raise ExperimentError(f"experiment {experiment.name!r} is {experiment.status}, not a draft")
    experiment.status, experiment.started_on = ExperimentStatus.RUNNING, as_of
    experiment.save(update_fields=["status", "started_on"])
    return assign(experiment, as_of)


def stop_experiment(experiment: Experiment, as_of: date) -> None:
    """Stop it: its debtors follow their segment's playbook again from the next run."""
    if experiment.status != ExperimentStatus.RUNNING:
        raise ExperimentError(f"experiment {experiment.name!r} is not running")
    experiment.status, experiment.stopped_on = ExperimentStatus.STOPPED, as_of
    experiment.save(update_fields=["status", "stopped_on"])


def running_assignments(company: Company, debtor_ids: Sequence[int] | None = None) -> QuerySet[Assignment]:
    """The assignments of the company's running experiments (of ``debtor_ids`` only, where given)."""
    rows = Assignment.objects.filter(experiment__company=company, experiment__status=ExperimentStatus.RUNNING)
    return rows if debtor_ids is None else rows.filter(debtor_id__in=list(debtor_ids))


def experiment_playbooks(company: Company, debtor_ids: Sequence[int] | None = None) -> dict[int, int]:
    """Debtor id -> the playbook of its arm in a running experiment of the company (1 query); the run reads
    them together with the segments' playbooks (``insights.services.segment_playbooks``)."""
    return dict(running_assignments(company, debtor_ids).values_list("debtor_id", "arm_id"))


@dataclass(frozen=True, slots=True)
class ExperimentReport:
    experiment: Experiment
    as_of: date
    names: dict[int, str]  # arm (playbook id) -> playbook name
    report: core.Report

    def as_dict(self) -> dict[str, object]:
        return {
            "experiment": self.experiment.name,
            "status": self.experiment.status,
            "as_of": self.as_of.isoformat(),
            "arms": [
                {"playbook": self.names.get(a.arm, str(a.arm)), **a.as_dict()} for a in self.report.arms
            ],
            "enough_data": self.report.enough_data,
            "winner": self.names.get(self.report.winner) if self.report.winner is not None else None,
        }


def outcomes(experiment: Experiment, as_of: date) -> list[core.DebtorOutcome]:
    """What followed each assignment up to ``as_of`` (4 queries): payments within 30 days against what the
    debtor owed when assigned, the day that much was paid, opt-outs, disputes opened since."""
    rows = list(experiment.assignments.values_list("debtor_id", "arm_id", "assigned_on", "open_minor"))
    ids = [r[0] for r in rows]
    first = min((r[2] for r in rows), default=as_of)
    payments: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for debtor_id, day, amount in (
        Payment.objects.filter(debtor_id__in=ids, value_date__gte=first, value_date__lte=as_of)
        .order_by("value_date", "pk")
        .values_list("debtor_id", "value_date", "amount_minor")
    ):
        payments[debtor_id].append((day, amount))
    opted = set(Contact.objects.filter(debtor_id__in=ids, opted_out=True).values_list("debtor_id", flat=True))
    disputes: dict[int, list[date]] = defaultdict(list)
    for debtor_id, day in TimelineEvent.objects.filter(
        debtor_id__in=ids, kind="dispute_opened", business_date__gte=first
    ).values_list("debtor_id", "business_date"):
        disputes[debtor_id].append(day)
    out = []
    for debtor_id, arm, assigned_on, owed in rows:
        end = assigned_on + timedelta(days=core.WINDOW_DAYS)
        paid, days_to_pay, in_window = 0, None, 0
        for day, amount in payments[debtor_id]:
            if day < assigned_on:
                continue
            paid += amount
            if day <= end:
                in_window += amount
            if days_to_pay is None and owed > 0 and paid >= owed:
                days_to_pay = (day - assigned_on).days
        out.append(
            core.DebtorOutcome(
                arm=arm,
                mature=end <= as_of,
                collected_in_window=days_to_pay is not None and days_to_pay <= core.WINDOW_DAYS,
                days_to_pay=days_to_pay,
                collected_minor=min(in_window, owed) if owed > 0 else in_window,
                opted_out=debtor_id in opted,
                disputed=any(d >= assigned_on for d in disputes[debtor_id]),
            )
        )
    return out


def report(experiment: Experiment, as_of: date, min_n: int = core.MIN_N) -> ExperimentReport:
    arms = [int(a) for a in experiment.arms]
    names = dict(Playbook.objects.filter(pk__in=arms).values_list("id", "name"))
    evaluated = core.evaluate(outcomes(experiment, as_of), arms, min_n=min_n, seed=experiment.seed)
    return ExperimentReport(experiment, as_of, names, evaluated)


@transaction.atomic
def promote(experiment: Experiment, as_of: date, arm: str | int | None = None) -> tuple[Playbook, list[str]]:
    """Make the winning arm's playbook (or ``arm``, a clerk's choice among the arms) the playbook of the
    experiment's segments, and stop the experiment. Returns the playbook and the segments that now use it."""
    from mahnwerk.insights.services import segment_rules, set_segment_rules

    company = experiment.company
    arms = [int(a) for a in experiment.arms]
    if arm is not None:
        chosen = _playbook(company, arm)
        if chosen.pk not in arms:
            raise ExperimentError(f"playbook {chosen.name!r} is not an arm of this experiment")
    else:
        winner = report(experiment, as_of).report.winner
        if winner is None:
            raise ExperimentError("no winner yet: not enough data, or no arm differs from the control")
        chosen = Playbook.objects.get(pk=winner)
    segments = set(experiment.segments) or set(
        experiment.assignments.exclude(segment=NO_SEGMENT).values_list("segment", flat=True)
    )
    rules = list(segment_rules(company))
    changed, covered = False, []
    for n, rule in enumerate(rules):
        if rule.key not in segments:
            continue
        covered.append(rule.key)
        if rule.policy.playbook.casefold() != chosen.name.casefold():
            rules[n] = dataclasses.replace(
                rule, policy=dataclasses.replace(rule.policy, playbook=chosen.name)
            )
            changed = True
    if changed:
        set_segment_rules(company, rules)
    experiment.promoted = chosen
    fields = ["promoted"]
    if experiment.status == ExperimentStatus.RUNNING:
        experiment.status, experiment.stopped_on = ExperimentStatus.STOPPED, as_of
        fields += ["status", "stopped_on"]
    experiment.save(update_fields=fields)
    return chosen, sorted(covered)
