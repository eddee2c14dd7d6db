from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy

from mahnwerk.web import (
    document_views,
    message_views,
    partner_views,
    run_views,
    setup_views,
    statement_views,
    template_views,
    views,
    work_views,
)
from mahnwerk.web.params import register_id_converter

register_id_converter()

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
    path("debtors/<id:pk>/", views.debtor_detail, name="debtor"),
    path("debtors/<id:pk>/payment", views.record_payment_view, name="debtor_payment"),
    path("debtors/<id:pk>/hold", views.hold_view, name="debtor_hold"),
    path("debtors/<id:pk>/details", views.details_view, name="debtor_details"),
    path("debtors/<id:pk>/escalate", views.escalate_view, name="debtor_escalate"),
    path("debtors/<id:pk>/playbook", views.playbook_view, name="debtor_playbook"),
    path("debtors/<id:pk>/send-now", views.send_now_view, name="debtor_send_now"),
    path("debtors/<id:pk>/promise", views.promise_view, name="debtor_promise"),
    path("debtors/<id:pk>/plan", views.plan_view, name="debtor_plan"),
    path("debtors/<id:pk>/plans/<id:plan_id>/confirm", views.confirm_plan_view, name="debtor_confirm_plan"),
    path("debtors/<id:pk>/plans/<id:plan_id>/approve", views.approve_plan_view, name="debtor_approve_plan"),
    path("debtors/<id:pk>/settlement", views.settlement_view, name="debtor_settlement"),
    path(
        "debtors/<id:pk>/agreements/<str:kind>/<id:agreement_id>/cancel",
        views.cancel_agreement_view,
        name="debtor_cancel_agreement",
    ),
    path("debtors/<id:pk>/dispute", views.dispute_view, name="debtor_dispute"),
    path(
        "debtors/<id:pk>/disputes/<id:dispute_id>/resolve",
        views.resolve_dispute_view,
        name="debtor_resolve_dispute",
    ),
    path("debtors/<id:pk>/tasks/<id:task_id>/outcome", views.call_outcome_view, name="debtor_call_outcome"),
    path("debtors/<id:pk>/notes", views.note_view, name="debtor_note"),
    path("debtors/<id:pk>/messages/<id:msg_id>/", message_views.debtor_message, name="debtor_message"),
    path("messages/<str:state>/", message_views.outbox_attention, name="outbox_attention"),
    path(
        "debtors/<id:pk>/messages/<id:msg_id>/email.eml",
        message_views.debtor_message_file,
        name="debtor_message_file",
    ),
    path(
        "debtors/<id:pk>/documents/<str:kind>/<id:doc_id>",
        document_views.debtor_document,
        name="debtor_document",
    ),
    path(
        "debtors/<id:pk>/invoice-copy",
        document_views.upload_invoice_document,
        name="debtor_invoice_document",
    ),
    path("payments/review/", statement_views.payments_review, name="payments_review"),
    path("partners/", partner_views.partner_list, name="partners"),
    path("partners/<id:pk>/edit", partner_views.partner_edit, name="partner_edit"),
    path("partners/<id:pk>/token", partner_views.partner_token, name="partner_token"),
    path("partners/handovers/<id:pk>/recall", partner_views.recall_view, name="partner_recall"),
    path("partners/handovers/<id:pk>/dossier", partner_views.dossier_view, name="partner_dossier"),
    path("work/", work_views.work_queue, name="work"),
    path("work/bulk", work_views.work_bulk, name="work_bulk"),
    path("work/counts", work_views.work_counts, name="work_counts"),
    path("kpi/", views.kpi, name="kpi"),
    path("playbooks/", views.playbook_list, name="playbooks"),
    path("playbooks/<id:pk>/", views.playbook_detail, name="playbook"),
    path("playbooks/<id:pk>/steps/<id:step_id>/preview", views.template_preview, name="template_preview"),
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
    path("run/", run_views.run_preview, name="run"),
    path("run/approve", run_views.run_approve, name="run_approve"),
    path("run/leave-out", run_views.run_leave_out, name="run_leave_out"),
    path("settings/", views.company_settings, name="settings"),
    path("settings/segments/<slug:key>", views.segment_terms_view, name="segment_terms"),
    path("users/", views.users, name="users"),
    path("users/<id:pk>/remove", views.remove_member, name="remove_member"),
    path("portal/", include("mahnwerk.web.portal.urls")),
]
