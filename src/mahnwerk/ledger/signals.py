from django.dispatch import Signal

# Sent inside the transaction that reduced open amounts (payment, credit note); arguments:
# debtor_ids (set of debtor ids whose items changed), business_date.
items_settled = Signal()

# Sent inside the transaction that changed a debtor's law (its kind, country or jurisdiction) and worked out again
# when default begins for its open invoices; arguments: company, debtor_ids, later (ids of the invoices whose
# default now begins later than before, or not at all).
debtor_law_changed = Signal()
