from django.contrib import admin

from mahnwerk.web.models import Membership


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "company", "role", "created_at"]
    list_filter = ["company", "role"]
    search_fields = ["user__username", "company__name"]
