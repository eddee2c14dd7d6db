"""The roles a user can have in a company: what the domain services check, and what the web application's
memberships store (``web.models.Membership.role``). Here, not in the web application, so that the services
the web app, the API and the command line share need not import it."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    COLLECTOR = "collector", _("Collector")
    VIEWER = "viewer", _("Viewer")
