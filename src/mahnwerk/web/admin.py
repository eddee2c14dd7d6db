"""The Django admin (``/admin/``, for superusers). It keeps every company's administrator as the users page and
``mahnwerk user`` do (:func:`mahnwerk.ledger.setup.keep_an_admin`): deleting a user or a membership, one or
several at once, and changing a membership's role or company are refused with the reason when they would leave
a company without an administrator, and nothing is changed. So is deactivating a company's last active
administrator."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserChangeForm
from django.core.exceptions import ValidationError
from django.db import router, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from mahnwerk.ledger.setup import SetupError, keep_an_admin
from mahnwerk.web.models import Membership, Role


class KeepAnAdmin(admin.ModelAdmin[Any]):
    """Deletion through this admin takes away the memberships :meth:`memberships_of` names; it is refused
    when that would leave a company without an administrator."""

    def memberships_of(self, pks: Iterable[Any] | QuerySet[Any]) -> QuerySet[Membership]:
        raise NotImplementedError

    def _keep_an_admin(self, pks: Iterable[Any] | QuerySet[Any]) -> None:
        keep_an_admin(self.memberships_of(pks).select_related("user", "company"))

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self._keep_an_admin([obj.pk])
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._keep_an_admin(queryset.values("pk"))
        super().delete_queryset(request, queryset)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # Django's view deletes (and logs the deletion) in one transaction: the refusal undoes both.
        try:
            return super().delete_view(request, object_id, extra_context)
        except SetupError as exc:
            self.message_user(request, exc.line(), messages.ERROR)
            change = f"admin:{self.opts.app_label}_{self.opts.model_name}_change"
            return HttpResponseRedirect(reverse(change, args=[object_id], current_app=self.admin_site.name))

    def response_action(
        self, request: HttpRequest, queryset: QuerySet[Any], *args: Any, **kwargs: Any
    ) -> Any:
        # An action (Django's "delete selected": it logs, then deletes) is all or nothing.
        try:
            with transaction.atomic(using=router.db_for_write(self.model)):
                return super().response_action(request, queryset, *args, **kwargs)
        except SetupError as exc:
            self.message_user(request, exc.line(), messages.ERROR)
            return None


class MembershipAdminForm(forms.ModelForm[Membership]):
    class Meta:
        model = Membership
        fields = ["user", "company", "role"]

    def clean(self) -> dict[str, Any]:
        """Refuse to take the administrator role from a company's only administrator or to move that
        membership to another company (the reason at the field that would do it)."""
        cleaned = super().clean() or {}
        role, company = cleaned.get("role"), cleaned.get("company")
        if self.instance.pk is None or role is None or company is None:
            return cleaned
        stored = Membership.objects.select_related("user", "company").filter(pk=self.instance.pk).first()
        if stored is None:
            return cleaned
        field = "role" if role != Role.ADMIN else "company" if company.pk != stored.company_id else None
        if field is not None:
            try:
                keep_an_admin([stored], field)
            except SetupError as exc:
                raise ValidationError(exc.errors) from exc
        return cleaned


@admin.register(Membership)
class MembershipAdmin(KeepAnAdmin):
    form = MembershipAdminForm
    list_display = ["user", "company", "role", "created_at"]
    list_filter = ["company", "role"]
    search_fields = ["user__username", "company__name"]

    def memberships_of(self, pks: Iterable[Any] | QuerySet[Any]) -> QuerySet[Membership]:
        return Membership.objects.filter(pk__in=pks)


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


class UserAdminChangeForm(UserChangeForm):
    def clean(self) -> dict[str, Any]:
        """Refuse to deactivate the only active administrator of a company (the reason at "active")."""
        cleaned = super().clean() or {}
        user = self.instance
        if user.pk is not None and user.is_active and cleaned.get("is_active") is False:
            stored = Membership.objects.select_related("user", "company").filter(user=user)
            try:
                keep_an_admin(stored, "is_active")
            except SetupError as exc:
                raise ValidationError(exc.errors) from exc
        return cleaned


@admin.register(User)
class UserAdmin(KeepAnAdmin, auth_admin.UserAdmin):
    form = UserAdminChangeForm

    def memberships_of(self, pks: Iterable[Any] | QuerySet[Any]) -> QuerySet[Membership]:
        return Membership.objects.filter(user__in=pks)
