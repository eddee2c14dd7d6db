"""Access control: every clerk page runs for one company, the one the signed-in user is a member of.

Objects are always looked up *within* that company, so an object of another company is simply not found
(404), whether it is asked for by URL, by a form field or by a search.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mahnwerk.collection.runs import Clerk
from mahnwerk.ledger.models import Company
from mahnwerk.web.models import Membership

SESSION_KEY = "mahnwerk_company"

View = TypeVar("View", bound=Callable[..., HttpResponse])


class CompanyRequest(HttpRequest):
    """A request that passed :func:`member_required`: it knows its membership and company."""

    membership: Membership
    company: Company


def membership_for(request: HttpRequest) -> Membership | None:
    """The user's membership for the company chosen in the session, else its first one."""
    if not request.user.is_authenticated:
        return None
    memberships = Membership.objects.filter(user_id=request.user.pk).select_related("company")
    chosen = request.session.get(SESSION_KEY)
    if chosen is not None:
        found = memberships.filter(company_id=chosen).first()
        if found is not None:
            return found
    return memberships.order_by("company__name", "id").first()


def member_required(level: str = "view") -> Callable[[View], View]:
    """Require a signed-in member; ``level`` is "view" (any role), "work" (admin, collector) or "admin"."""

    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            membership = membership_for(request)
            if membership is None:
                return render(request, "web/no_company.html", status=403)
            if (level == "work" and not membership.can_work) or (
                level == "admin" and not membership.can_admin
            ):
                raise PermissionDenied
            req = cast(CompanyRequest, request)
            req.membership = membership
            req.company = membership.company
            return view(req, *args, **kwargs)

        return cast(View, wrapped)

    return decorate


def actor(request: HttpRequest) -> str:
    """How the user appears on the timeline."""
    return f"user:{request.user.get_username()}"


def clerk(request: CompanyRequest) -> Clerk:
    """The signed-in user as the domain services see it: company, role and the name on the timeline."""
    return Clerk(request.company, request.membership.role, actor(request))
