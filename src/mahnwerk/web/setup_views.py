"""The first start: a fresh installation asks for its first administrator and company instead of a sign-in
that could never succeed. Once a company has an administrator the page is gone (404), so it can never be
used to take over an installation; the sign-in page leads to it while it is open."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from mahnwerk.ledger.setup import (
    SetupError,
    first_start,
    first_start_open,
    unique_slug,
    validate_new_company,
)
from mahnwerk.web.access import SESSION_KEY
from mahnwerk.web.setup_forms import FirstStartForm


class LoginView(auth_views.LoginView):
    """The sign-in page; on an installation not set up yet, the first start instead."""

    template_name = "registration/login.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if first_start_open():
            return redirect("web:first_start")
        return super().dispatch(request, *args, **kwargs)


def _check_the_rest(form: FirstStartForm) -> None:
    """Also show what the company's own checks find wrong (the IBAN, say) while other fields are wrong."""
    values = {k: v for k, v in form.company_values().items() if k not in form.errors}
    try:
        validate_new_company(unique_slug(values.get("name") or ""), values)
    except SetupError as exc:
        form.add_setup_errors(
            {name: messages for name, messages in exc.errors.items() if name not in form.errors}
        )


@sensitive_post_parameters("password1", "password2")
@csrf_protect
@never_cache
def first_start_view(request: HttpRequest) -> HttpResponse:
    if not first_start_open():
        raise Http404(_("Mahnwerk is already set up."))
    form = FirstStartForm(request.POST or None, language=(get_language() or "en")[:2])
    if request.method == "POST":
        if not form.is_valid():
            _check_the_rest(form)
        else:
            data = form.cleaned_data
            try:
                company, user = first_start(
                    data["username"], data["password1"], data["preset"], **form.company_values()
                )
            except SetupError as exc:
                form.add_setup_errors(exc.errors)
            else:
                login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
                request.session[SESSION_KEY] = company.pk
                messages.success(
                    request,
                    _("Welcome! {company} is set up; import your customers and invoices next.").format(
                        company=company.name
                    ),
                )
                return redirect("web:home")
        return render(request, "web/first_start.html", {"form": form}, status=422)
    return render(request, "web/first_start.html", {"form": form})
