"""An admin edits a reminder template in the browser: the preview for a real debtor follows the typing, a
broken placeholder is named before saving, and the saved text is what the next preview uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import PASSWORD, needs_chromium

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]


def test_admin_edits_a_template_with_live_preview(
    page: Any, live_server: Any, ledger: dict[str, Any], company: Any, shoot: Callable[[Any, str], None]
) -> None:
    from django.contrib.auth import get_user_model

    from mahnwerk.comms.templates_store import resolve_template
    from mahnwerk.web.models import Membership

    user = get_user_model().objects.create_user(username="alice", password=PASSWORD)
    Membership.objects.create(user=user, company=company, role="admin")
    page.goto(live_server.url + "/")
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Templates", exact=True).click()
    page.get_by_label("Kind:").select_option("email")
    page.get_by_label("Language:").select_option("en")
    page.get_by_role("button", name="Filter").click()
    page.locator("table a[href*='/templates/email/reminder/friendly/en/']").first.click()
    text = page.get_by_label("Text:", exact=True)
    page.get_by_label("Customer number to preview for:").fill("K0001")
    text.fill("Dear {{ debtor.name }},\n\nthe items below are still open: {{ total }}.\n\nKind regards")
    preview = page.get_by_test_id("preview-text")
    preview.get_by_text("the items below are still open").wait_for()  # HTMX re-rendered it while typing
    assert "Bäckerei Müller" in preview.inner_text()
    shoot(page, "template-editor")
    text.fill("Dear {{ debtor.nam }},")  # a misspelt placeholder is named, with its line
    page.get_by_test_id("problems").wait_for()
    assert "line 1" in page.get_by_test_id("problems").inner_text()
    text.fill("Dear {{ debtor.name }},\n\nplease pay {{ total }} now.\n\nKind regards")
    preview.get_by_text("please pay").wait_for()
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("Template saved").wait_for()
    kind, name, tone, language = page.url.rstrip("/").split("/")[-4:]
    saved = resolve_template(company, name, tone, language, kind)
    assert "please pay {{ total }} now." in saved.body
