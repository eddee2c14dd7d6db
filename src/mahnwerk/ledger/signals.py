from django.dispatch import Signal

# Sent inside the transaction that reduced open amounts (payment, credit note); arguments:
# debtor_ids (set of debtor ids whose items changed), business_date.
items_settled = Signal()
