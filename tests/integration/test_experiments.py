"""Experiments end to end: create and start from the command line, random assignment per segment on the
timeline, the run following the arm's playbook (and nothing else), the report, promote, stop; the channel
learning switch."""

from __future__ import annotations

from collections import Counter
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from mahnwerk.collection.models import Action, Case, Playbook, Step
from mahnwerk.collection.services import run_collection
from mahnwerk.experiments.models import Assignment, Experiment
from mahnwerk.experiments.services import experiment_playbooks, outcomes
from mahnwerk.insights.models import DebtorInsight
from mahnwerk.insights.services import segment_playbooks, segment_rules

D = date.fromisoformat


def cli(*args: str) -> str:
    out = StringIO()
    call_command("experiment", *args, stdout=out)
    return out.getvalue()


def firm_playbook(company: Any) -> Playbook:
    """The standard playbook, every step one tone firmer."""
    standard = Playbook.objects.get(company=company, name="Standard")
    firm = Playbook.objects.create(company=company, name="Firm")
    for step in Step.objects.filter(playbook=standard):
        step.pk = None
        step.playbook = firm
        step.tone = {"friendly": "firm"}.get(step.tone, "formal")
        step.save()
    return firm


@pytest.fixture
def customers(company: Any, make_debtor: Any, make_invoice: Any) -> list[Any]:
    out = []
    for n in range(12):
        debtor = make_debtor(name=f"Kunde {n} GmbH")
        make_invoice(debtor, f"R-{n}", "300.00", "2025-05-01")
        segment = "normal" if n < 8 else "watch"
        DebtorInsight.objects.create(
            debtor=debtor, company=company, as_of=D("2025-05-01"), segment=segment, segment_label=segment
        )
        out.append(debtor)
    return out


@pytest.mark.django_db
def test_an_experiment_assigns_at_random_per_segment_and_the_run_follows_the_arm(
    company: Any, customers: list[Any], make_debtor: Any, make_invoice: Any, pay: Any, outbox: Path
) -> None:
    firm = firm_playbook(company)
    standard = Playbook.objects.get(company=company, name="Standard")
    manual = customers[0]
    Case.objects.update_or_create(company=company, debtor=manual, defaults={"playbook": standard})
    out = cli("create", "tone", "--arm", "Standard", "--arm", "Firm", "--seed", "5")
    assert "Experiment tone" in out
    out = cli("start", "tone", "--date", "2025-05-05")
    assert "11 debtor(s) assigned at random" in out  # the one with a playbook set by hand stays out
    rows = list(Assignment.objects.values_list("segment", "arm_id"))
    for segment in ("normal", "watch"):
        counts = Counter(arm for s, arm in rows if s == segment)
        assert max(counts.values()) - min(counts.values()) <= 1
    event = customers[1].timeline.get(kind="experiment_assigned")
    assert event.data["experiment"] == "tone" and event.data["segment"] == "normal"

    chosen = experiment_playbooks(company)
    assert manual.pk not in chosen and set(chosen.values()) == {standard.pk, firm.pk}
    assert segment_playbooks(company) == segment_playbooks(company) | chosen  # the arm overlays the segment
    run_collection(company, D("2025-05-08"), approved=True)
    for action in Action.objects.filter(as_of=D("2025-05-08")):
        expected = chosen.get(action.debtor_id, standard.pk)
        assert action.playbook_id == expected
        if expected == firm.pk:
            assert action.tone == "firm"

    # a debtor who comes later joins with 'assign'
    late = make_debtor(name="Spät GmbH")
    make_invoice(late, "R-99", "120.00", "2025-05-20")
    assert "1 debtor(s) assigned" in cli("assign", "tone", "--date", "2025-05-21")

    # too early to say anything
    report = cli("report", "tone", "--date", "2025-05-21")
    assert "not enough data yet" in report and "Not enough data yet" in report

    # debtors in the firm arm pay within days, the others not
    for a in Assignment.objects.filter(arm=firm).select_related("debtor"):
        pay(a.debtor, "300.00" if a.debtor != late else "120.00", "2025-05-12")
    found = {o.arm: o for o in outcomes(Experiment.objects.get(), D("2025-06-30")) if o.arm == firm.pk}
    assert found[firm.pk].collected_in_window and found[firm.pk].days_to_pay is not None
    out = cli("report", "tone", "--date", "2025-06-30", "--min-n", "3")
    assert "collected in full within 30 days" in out and "100%" in out

    # the clerk promotes the firm playbook: it becomes the playbook of the experiment's segments
    out = cli("promote", "tone", "--arm", "Firm", "--date", "2025-07-01")
    assert "Playbook Firm is now the playbook of segment(s) normal, watch" in out
    rules = {r.key: r.policy.playbook for r in segment_rules(company)}
    assert rules["normal"] == "Firm" and rules["watch"].casefold() == "firm" and rules["risky"] == "strict"
    experiment = Experiment.objects.get()
    assert experiment.status == "stopped" and experiment.promoted == firm
    assert experiment_playbooks(company) == {}
    assert segment_playbooks(company)[customers[1].pk] == firm.pk


@pytest.mark.django_db
def test_promote_without_a_measured_winner_is_refused(company: Any, customers: list[Any]) -> None:
    from django.core.management.base import CommandError

    firm_playbook(company)
    cli("create", "tone", "--arm", "Standard", "--arm", "Firm")
    cli("start", "tone", "--date", "2025-05-05")
    with pytest.raises(CommandError, match="no winner yet"):
        cli("promote", "tone", "--date", "2025-05-06")
    with pytest.raises(CommandError, match="not a draft"):
        cli("start", "tone", "--date", "2025-05-06")
    assert "stopped" in cli("stop", "tone", "--date", "2025-05-07")
    assert experiment_playbooks(company) == {}


@pytest.mark.django_db
def test_an_experiment_needs_two_different_playbooks(company: Any) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="two different playbooks"):
        cli("create", "x", "--arm", "Standard", "--arm", "Standard")
    with pytest.raises(CommandError, match="no playbook"):
        cli("create", "x", "--arm", "Standard", "--arm", "Nope")


@pytest.mark.django_db
def test_channel_learning_is_on_by_default_and_can_be_switched_off(company: Any) -> None:
    assert "is on" in cli("learning", "show")
    assert "is off" in cli("learning", "off")
    assert "within 7 days" in cli("learning", "on", "--window-days", "7")


@pytest.mark.django_db
def test_the_run_assigns_new_debtors_of_the_experiments_segment(
    company: Any, customers: list[Any], make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    firm_playbook(company)
    cli("create", "tone", "--arm", "Standard", "--arm", "Firm", "--segment", "normal", "--seed", "7")
    cli("start", "tone", "--date", "2025-05-05")
    assert Assignment.objects.count() == 8  # the eight normal customers
    # new customers after the start, not rated yet: 10 days overdue on 2025-05-08 (rating B: normal) and
    # 98 days overdue (rating D: risky, not in the experiment)
    fresh = []
    for n in range(6):
        debtor = make_debtor(name=f"Neu {n} GmbH")
        make_invoice(debtor, f"N-{n}", "200.00", "2025-04-28")
        fresh.append(debtor)
    risky = make_debtor(name="Alt GmbH")
    make_invoice(risky, "N-OLD", "200.00", "2025-01-30")
    run_collection(company, D("2025-05-08"), approved=True)
    joined = {a.debtor_id: a for a in Assignment.objects.filter(debtor__in=fresh)}
    assert set(joined) == {d.pk for d in fresh} and not Assignment.objects.filter(debtor=risky).exists()
    assert {a.segment for a in joined.values()} == {"normal"}
    assert {a.assigned_on for a in joined.values()} == {D("2025-05-08")}
    assert all(a.open_minor == 20000 for a in joined.values())
    # balanced within the stratum, counting the eight assigned at the start: 7 and 7
    arms = Counter(Assignment.objects.filter(segment="normal").values_list("arm_id", flat=True))
    assert sorted(arms.values()) == [7, 7]
    event = fresh[0].timeline.get(kind="experiment_assigned")
    assert event.data["experiment"] == "tone" and event.data["segment"] == "normal"
    # their first step already follows their arm
    for action in Action.objects.filter(debtor__in=fresh, as_of=D("2025-05-08")):
        assert action.playbook_id == joined[action.debtor_id].arm_id
    # the run's refresh found the four "watch" customers (7 days overdue, rating B) normal now: the next run
    # takes them too; nobody is assigned twice and the assignments made stay
    assert set(DebtorInsight.objects.filter(debtor__in=customers[8:]).values_list("segment", flat=True)) == {
        "normal"
    }
    run_collection(company, D("2025-05-09"), approved=True)
    assert Assignment.objects.count() == 18
    assert set(
        Assignment.objects.filter(assigned_on=D("2025-05-09")).values_list("debtor_id", flat=True)
    ) == {d.pk for d in customers[8:]}
    assert {a.debtor_id: a.arm_id for a in Assignment.objects.filter(debtor__in=fresh)} == {
        pk: a.arm_id for pk, a in joined.items()
    }


@pytest.mark.django_db
def test_workers_sharing_a_run_each_assign_their_own_debtors(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    firm_playbook(company)
    cli("create", "split", "--arm", "Standard", "--arm", "Firm", "--seed", "3")
    cli("start", "split", "--date", "2025-05-05")
    debtors = []
    for n in range(10):
        debtor = make_debtor(name=f"Teil {n} GmbH")
        make_invoice(debtor, f"T-{n}", "150.00", "2025-04-28")
        debtors.append(debtor)
    run_collection(company, D("2025-05-08"), approved=True, partition=(0, 2))
    assert {a.debtor_id % 2 for a in Assignment.objects.all()} == {0}
    run_collection(company, D("2025-05-08"), approved=True, partition=(1, 2))
    assert set(Assignment.objects.values_list("debtor_id", flat=True)) == {d.pk for d in debtors}
