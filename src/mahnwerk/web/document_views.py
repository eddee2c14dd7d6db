"""Downloads of a debtor's documents (invoice copies, letters) from the clerk's case file.

Any member may download, viewers too; the debtor is looked up within the member's company and the document
within the debtor, so another company's debtor or document is "not found".
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from mahnwerk.comms.debtor_documents import DocumentFile, DocumentNotFound, document_file
from mahnwerk.ledger.invoice_documents import DocumentRejected, InvoiceFile, attach_invoice_documents
from mahnwerk.ledger.models import Debtor
from mahnwerk.web.access import CompanyRequest, actor, member_required
from mahnwerk.web.forms import InvoiceDocumentForm


def attachment(document: DocumentFile) -> HttpResponse:
    """The document as a download (also used by the debtor's portal)."""
    response = HttpResponse(document.content, content_type=document.content_type)
    response["Content-Disposition"] = content_disposition_header(True, document.filename)
    response["Content-Length"] = str(len(document.content))
    return response


@require_safe
@never_cache
@member_required()
def debtor_document(request: CompanyRequest, pk: int, kind: str, doc_id: int) -> HttpResponse:
    debtor = get_object_or_404(Debtor.objects.select_related("company"), company=request.company, pk=pk)
    try:
        document = document_file(debtor, kind, doc_id)
    except DocumentNotFound:
        raise Http404("no such document") from None
    return attachment(document)


@require_POST
@member_required("work")
def upload_invoice_document(request: CompanyRequest, pk: int) -> HttpResponse:
    """Store a copy of one of the debtor's invoices (a PDF); it goes with reminders and downloads."""
    from mahnwerk.web.views import _back  # back to the case file's tab

    debtor = get_object_or_404(Debtor, company=request.company, pk=pk)
    form = InvoiceDocumentForm(request.POST, request.FILES, debtor_id=debtor.pk, prefix="copy")
    if not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, _("Not stored: {reason}").format(reason=errors))
        return _back(request, debtor)
    invoice, upload = form.cleaned_data["invoice"], form.cleaned_data["file"]
    try:
        attach_invoice_documents(
            request.company, [InvoiceFile(invoice.number, upload.name, upload.read())], actor=actor(request)
        )
    except DocumentRejected as exc:
        messages.error(request, _("Not stored: {reason}").format(reason="; ".join(exc.problems)))
    else:
        messages.success(request, _("Copy of invoice {number} stored.").format(number=invoice.number))
    return _back(request, debtor)
