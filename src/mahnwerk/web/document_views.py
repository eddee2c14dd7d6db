"""Downloads of a debtor's documents (invoice copies, letters) from the clerk's case file.

Any member may download, viewers too; the debtor is looked up within the member's company and the document
within the debtor, so another company's debtor or document is "not found".
"""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from mahnwerk.comms.debtor_documents import DocumentFile, DocumentNotFound, document_file
from mahnwerk.ledger.models import Debtor
from mahnwerk.web.access import CompanyRequest, member_required


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
