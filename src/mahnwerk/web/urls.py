from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy

from mahnwerk.web import (
    document_views,
    partner_views,
    setup_views,
    statement_views,
    template_views,
    views,
    work_views,
)

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path(
        "accounts/login/",
        setup_views.LoginView.as_view(next_page=reverse_lazy("web:home")),
        name="login",
    ),
    path("setup/", setup_views.first_start_view, name="first_start"),
    path(
        "accounts/logout/", auth_views.LogoutView.as_view(next_page=reverse_lazy("web:login")), name="logout"
    ),
    path("company/switch", views.switch_company, name="switch_company"),
    path("debtors/", views.debtor_list, name="debtors"),
    path("debtors/<int:pk>/", views.debtor_detail, name="debtor"),
    path("debtors/<int:pk>/payment", views.record_payment_view, name="debtor_payment"),
    path("debtors/<int:pk>/hold", views.hold_view, name="debtor_hold"),
    path("debtors/<int:pk>/details", views.details_view, name="debtor_details"),
    path("debtors/<int:pk>/escalate", views.escalate_view, name="debtor_escalate"),
    path("debtors/<int:pk>/playbook", views.playbook_view, name="debtor_playbook"),
    path("debtors/<int:pk>/send-now", views.send_now_view, name="debtor_send_now"),
    path("debtors/<int:pk>/promise", views.promise_view, name="debtor_promise"),
    path("debtors/<int:pk>/plan", views.plan_view, name="debtor_plan"),
    path("debtors/<int:pk>/plans/<int:plan_id>/confirm", views.confirm_plan_view, name="debtor_confirm_plan"),
    path("debtors/<int:pk>/plans/<int:plan_id>/approve", views.approve_plan_view, name="debtor_approve_plan"),
    path("debtors/<int:pk>/settlement", views.settlement_view, name="debtor_settlement"),
    path(
        "debtors/<int:pk>/agreements/<str:kind>/<int:agreement_id>/cancel",
        views.cancel_agreement_view,
        name="debtor_cancel_agreement",
    ),
    path("debtors/<int:pk>/dispute", views.dispute_view, name="debtor_dispute"),
    path(
        "debtors/<int:pk>/disputes/<int:dispute_id>/resolve",
        views.resolve_dispute_view,
        name="debtor_resolve_dispute",
    ),
    path("debtors/<int:pk>/tasks/<int:task_id>/outcome", views.call_outcome_view, name="debtor_call_outcome"),
    path(
        "debtors/<int:pk>/documents/<str:kind>/<int:doc_id>",
        document_views.debtor_document,
        name="debtor_document",
    ),
    path(
        "debtors/<int:pk>/invoice-copy",
        document_views.upload_invoice_document,
        name="debtor_invoice_document",
    ),
    path("payments/review/", statement_views.payments_review, name="payments_review"),
    path("partners/", partner_views.partner_list, name="partners"),
    path("partners/<int:pk>/edit", partner_views.partner_edit, name="partner_edit"),
    path("partners/<int:pk>/token", partner_views.partner_token, name="partner_token"),
    path("partners/handovers/<int:pk>/recall", partner_views.recall_view, name="partner_recall"),
    path("partners/handovers/<int:pk>/dossier", partner_views.dossier_view, name="partner_dossier"),
    path("work/", work_views.work_queue, name="work"),
    path("work/bulk", work_views.work_bulk, name="work_bulk"),
    path("work/counts", work_views.work_counts, name="work_counts"),
    path("kpi/", views.kpi, name="kpi"),
    path("playbooks/", views.playbook_list, name="playbooks"),
    path("playbooks/<int:pk>/", views.playbook_detail, name="playbook"),
    path("playbooks/<int:pk>/steps/<int:step_id>/preview", views.template_preview, name="template_preview"),
    path("templates/", template_views.template_list, name="templates"),
    path(
        "templates/<str:kind>/<str:name>/<str:tone>/<str:language>/",
        template_views.template_edit,
        name="template_edit",
    ),
    path(
        "templates/<str:kind>/<str:name>/<str:tone>/<str:language>/preview",
        template_views.template_draft_preview,
        name="template_draft_preview",
    ),
    path(
        "templates/<str:kind>/<str:name>/<str:tone>/<str:language>/pdf",
        template_views.template_pdf,
        name="template_pdf",
    ),
    path(
        "templates/<str:kind>/<str:name>/<str:tone>/<str:language>/reset",
        template_views.template_reset,
        name="template_reset",
    ),
    path("run/", views.run_preview, name="run"),
    path("run/approve", views.run_approve, name="run_approve"),
    path("settings/", views.company_settings, name="settings"),
    path("users/", views.users, name="users"),
    path("users/<int:pk>/remove", views.remove_member, name="remove_member"),
    path("portal/", include("mahnwerk.web.portal.urls")),
]
