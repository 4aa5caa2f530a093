"""Every change to an initiative, one module per job; import the services from here.

Each state change and its audit entry are one transaction, under a lock on the initiative's
row (`transitions`). Deadlines come from the rules data (quorum.rules).
"""

from quorum.initiatives.services.checks import InvalidRequest
from quorum.initiatives.services.collection import (
    DATE_TRANSITIONS,
    initiative_record_extension,
    initiative_set_collection_start,
    initiative_stop_collection,
    initiatives_advance_by_date,
)
from quorum.initiatives.services.embedding import embed_origin_add, embed_origin_remove
from quorum.initiatives.services.legal_hold import initiative_set_legal_hold
from quorum.initiatives.services.organisers import (
    Invitation,
    organiser_confirm,
    organiser_invite,
)
from quorum.initiatives.services.partners import partner_add, partner_remove
from quorum.initiatives.services.registration import (
    initiative_decide_registration,
    initiative_request_registration,
    next_registration_number,
)
from quorum.initiatives.services.reports import progress_report_file
from quorum.initiatives.services.sponsors import sponsor_add
from quorum.initiatives.services.submission import (
    initiative_record_follow_up,
    initiative_submit_to_commission,
)
from quorum.initiatives.services.texts import (
    draft_text_limits,
    initiative_add_translation,
    initiative_create,
)
from quorum.initiatives.services.transitions import BEFORE_SUBMISSION, Status
from quorum.initiatives.services.verification import (
    initiative_conclude_verification,
    initiative_request_verification,
)
from quorum.initiatives.services.withdrawal import initiative_withdraw

__all__ = [
    "BEFORE_SUBMISSION",
    "DATE_TRANSITIONS",
    "InvalidRequest",
    "Invitation",
    "Status",
    "draft_text_limits",
    "embed_origin_add",
    "embed_origin_remove",
    "initiative_add_translation",
    "initiative_conclude_verification",
    "initiative_create",
    "initiative_decide_registration",
    "initiative_record_extension",
    "initiative_record_follow_up",
    "initiative_request_registration",
    "initiative_request_verification",
    "initiative_set_collection_start",
    "initiative_set_legal_hold",
    "initiative_stop_collection",
    "initiative_submit_to_commission",
    "initiative_withdraw",
    "initiatives_advance_by_date",
    "next_registration_number",
    "organiser_confirm",
    "organiser_invite",
    "partner_add",
    "partner_remove",
    "progress_report_file",
    "sponsor_add",
]
