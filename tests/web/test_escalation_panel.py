"""An account at the end of its playbook shows the escalation options on the case file; a decision goes on the
timeline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from mahnwerk.collection.services import run_collection
from mahnwerk.comms.letters_batch import print_letters

pytestmark = [pytest.mark.django_db]


def test_the_case_file_offers_the_options_and_records_the_decision(
    bob: Client,
    carol: Client,
    company: Any,
    make_debtor: Callable[..., Any],
    make_invoice: Callable[..., Any],
) -> None:
    debtor = make_debtor(street="Lindenweg 5", postcode="20095", city="Hamburg", country="DE")
    make_invoice(debtor, "RE-100", "1234.56", "2025-03-03", issue="2025-02-01")
    day = date(2025, 3, 3)
    for _ in range(60):  # reminders on 03-10 and 03-24, the final notice on 04-07: the playbook has ended
        run_collection(company, day, approved=True)
        print_letters(company, day)  # the day's letters go to the post that day
        day += timedelta(days=1)
    with time_machine.travel("2025-06-02 10:00 +0000", tick=False):
        page = bob.get(f"/debtors/{debtor.pk}/").content.decode()
        assert 'data-testid="escalation"' in page
        # the court fee on 1,234.56: half of the GKG fee of 82.00 = 41.00 (KV 1100)
        assert "Court payment order (Mahnbescheid)" in page and "41.00" in page
        assert carol.post(f"/debtors/{debtor.pk}/escalate", {"option": "agency"}).status_code == 403
        response = bob.post(f"/debtors/{debtor.pk}/escalate", {"option": "court_payment_order", "note": "ok"})
        assert response.status_code == 302
        assert debtor.timeline.filter(kind="escalation_decided").count() == 1
        # nonsense is refused with a message, nothing recorded
        bob.post(f"/debtors/{debtor.pk}/escalate", {"option": "duel"})
        assert debtor.timeline.filter(kind="escalation_decided").count() == 1


def test_an_account_still_in_its_playbook_shows_no_options(
    bob: Client, company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]
) -> None:
    debtor = make_debtor()
    make_invoice(debtor, "RE-1", "100.00", "2025-03-03")
    run_collection(company, date(2025, 3, 10), approved=True)
    with time_machine.travel("2025-03-12 10:00 +0000", tick=False):
        assert 'data-testid="escalation"' not in bob.get(f"/debtors/{debtor.pk}/").content.decode()
