"""Translated names of deadlines and timeline events, for pages."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

DEADLINE_LABELS: dict[str, Promise] = {
    "registration_answer_due": _("Decision on registration due"),
    "latest_collection_start": _("Latest start of collection"),
    "latest_start_announcement": _("Start of collection to be announced by"),
    "collection_end": _("End of collection"),
    "submission_to_authorities_due": _("Statements to be submitted to the national authorities by"),
    "verification_due": _("Verification by the national authorities due"),
    "submission_to_commission_due": _("Submission to the Commission due"),
    "meeting_due": _("Meeting with the Commission due"),
    "hearing_due": _("Public hearing at the European Parliament due"),
    "communication_due": _("The Commission's answer due"),
    "retention_end": _("Statements of support destroyed by"),
}

TIMELINE_LABELS: dict[str, Promise] = {
    "quorum.initiative.created": _("Created"),
    "quorum.initiative.registration_requested": _("Registration requested"),
    "quorum.initiative.registered": _("Registered"),
    "quorum.initiative.partially_registered": _("Partially registered"),
    "quorum.initiative.registration_refused": _("Registration refused"),
    "quorum.initiative.translation_added": _("Translation added"),
    "quorum.initiative.collection_start_set": _("Start of collection announced"),
    "quorum.initiative.collection_opened": _("Collection opened"),
    "quorum.initiative.collection_extended": _("Collection period extended"),
    "quorum.initiative.collection_stopped_early": _("Early end of collection announced"),
    "quorum.initiative.collection_closed": _("Collection closed"),
    "quorum.initiative.withdrawn": _("Withdrawn"),
    "quorum.initiative.sponsor_declared": _("Sponsor declared"),
    "quorum.initiative.progress_reported": _("Progress reported"),
    "quorum.initiative.verification_requested": _("Verification requested"),
    "quorum.initiative.verified": _("Verified by the national authorities"),
    "quorum.initiative.unsuccessful": _("Verification ended: the thresholds were not reached"),
    "quorum.initiative.submitted": _("Submitted to the Commission"),
    "quorum.initiative.meeting_recorded": _("Meeting with the Commission"),
    "quorum.initiative.hearing_recorded": _("Public hearing at the European Parliament"),
    "quorum.initiative.communication_recorded": _("The Commission answered"),
}
