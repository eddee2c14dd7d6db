"""A run that writes and sends is for today or a day gone by: one for a later date (a typo in the year) would
send now a reminder dated months ahead and hold the debtor until then. Its preview may look ahead."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command

from mahnwerk.collection.models import Action
from mahnwerk.comms.models import OutboundMessage

from .test_api import Api, _member

pytestmark = pytest.mark.django_db


@time_machine.travel("2026-03-08 09:00 +0000", tick=False)
def test_a_run_for_a_later_date_is_refused_and_its_preview_allowed(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path, client: Any
) -> None:
    make_invoice(make_debtor(number="K1", language="en"), "RE-1", "120.00", "2026-03-01")
    with pytest.raises(CommandError, match=r"A run for 2027-03-08 is after today \(2026-03-08\)"):
        call_command("run", "--date", "2027-03-08", stdout=StringIO())
    assert not Action.objects.exists() and not OutboundMessage.objects.exists()
    call_command("run", "--date", "2027-03-08", "--dry-run", stdout=StringIO())  # a look ahead is fine
    assert not Action.objects.exists()

    api = Api(client, _member(company, "anna", "admin"))
    response = api.post("runs", {"as_of": "2100-12-31"})
    assert response.status_code == 422, response.content
    assert "after today" in response.content.decode()
    response = api.post("runs", {"as_of": "2100-12-31", "approve": True})
    assert response.status_code == 422
    assert not Action.objects.exists()
    assert api.post("runs", {"as_of": "2100-12-31", "dry_run": True}).status_code == 200

    # today's run goes
    call_command("run", "--date", "2026-03-08", stdout=StringIO())
    assert Action.objects.count() == 1
