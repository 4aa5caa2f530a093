"""The organisers' side: drafts, the group, registration, collection, transparency, verification."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from quorum.accounts.decorators import (
    AuthenticatedHttpRequest,
    login_and_2fa_required,
    require_recent_verification,
)
from quorum.backoffice.access import organised_initiative
from quorum.backoffice.errors import form_errors
from quorum.backoffice.forms import DateForm, DraftForm, InviteForm, PaperCountsForm, SponsorForm
from quorum.core.errors import DomainError
from quorum.core.i18n import member_state_name
from quorum.initiatives import services as lifecycle
from quorum.initiatives.labels import DEADLINE_LABELS
from quorum.initiatives.models import Initiative, OrganiserMember
from quorum.initiatives.selectors import (
    initiative_deadlines,
    initiatives_of_organiser,
    organiser_group_problems,
    progress_report_due,
)
from quorum.ledger.charts import growth_chart
from quorum.ledger.map import progress_map
from quorum.ledger.selectors import initiative_counts, log_growth, partner_rows
from quorum.verification.selectors import submission_data
from quorum.verification.services import verification_request

DECLARATION_NEEDED = gettext_lazy("Confirm the declaration before you submit.")


@login_and_2fa_required
def my_initiatives(request: AuthenticatedHttpRequest) -> HttpResponse:
    language = get_language()
    rows = [
        {"initiative": initiative, "title": initiative.text("title", language)}
        for initiative in initiatives_of_organiser(request.user).order_by("slug")
    ]
    return render(request, "backoffice/organiser/list.html", {"initiatives": rows})


@login_and_2fa_required
def draft_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = DraftForm(request.POST if request.method == "POST" else None)
    errors: dict[str, list[str]] = {}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        language = data["language"]
        try:
            initiative = lifecycle.initiative_create(
                slug=data["slug"],
                title={language: data["title"]},
                objectives={language: data["objectives"]},
                annex={language: data["annex"]} if data["annex"] else {},
                treaty_basis=data["treaty_basis"],
                language=language,
                actor=request.user,
            )
            invitation = lifecycle.organiser_invite(
                initiative=initiative,
                full_name=data["full_name"],
                email=request.user.email or "unknown@invalid",
                nationality=data["nationality"],
                residence=data["residence"],
                role=OrganiserMember.Role.REPRESENTATIVE,
                declares_voting_age=data["declares_voting_age"],
                actor=request.user,
            )
            lifecycle.organiser_confirm(token=invitation.token, user=request.user)
        except DomainError as exc:
            errors = exc.messages()
        else:
            messages.success(
                request, _("The draft is saved. Invite the other members of your group.")
            )
            return HttpResponseRedirect(
                reverse("backoffice:organiser-dashboard", args=[initiative.slug])
            )
    elif request.method == "POST":
        errors = form_errors(form)
    status = 422 if errors else 200
    return render(
        request,
        "backoffice/organiser/draft.html",
        {"form": form, "errors": errors, "text_limits": lifecycle.draft_text_limits()},
        status=status,
    )


@login_and_2fa_required
def dashboard(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    initiative = organised_initiative(request, slug)
    return _render_dashboard(request, initiative)


def _render_dashboard(
    request: HttpRequest,
    initiative: Initiative,
    *,
    errors: dict[str, list[str]] | None = None,
    invitation: str = "",
) -> HttpResponse:
    language = get_language()
    counts = initiative_counts(initiative)
    growth = log_growth(initiative_id=initiative.pk)
    today = timezone.localdate()
    embed_language = embed_language_choice(request.GET.get("embed_language"))
    context = {
        "initiative": initiative,
        "title": initiative.text("title", language),
        "Status": Initiative.Status,
        "members": list(initiative.organisers.all()),
        "group_problems": organiser_group_problems(initiative)
        if initiative.status == Initiative.Status.DRAFT
        else [],
        "deadlines": [
            {"label": DEADLINE_LABELS[name], "date": day, "past": day < today}
            for name, day in sorted(
                initiative_deadlines(initiative).items(), key=lambda item: item[1]
            )
            if name in DEADLINE_LABELS
        ],
        "report_due": progress_report_due(initiative, today=today),
        "counts": [
            {**row.__dict__, "name": member_state_name(row.code)} for row in counts.by_member_state
        ],
        "total": counts.total,
        "states_reached": counts.states_reached,
        "partner_counts": partner_rows(initiative, counts.by_partner),
        "without_partner": counts.without_partner,
        "growth": growth,
        "chart": growth_chart(growth),
        "progress_map": progress_map(counts.by_member_state),
        "embed_url": embed_url(initiative, language=embed_language),
        "embed_snippet": embed_snippet(request, initiative, language=embed_language),
        "embed_language": embed_language,
        "embed_languages": settings.LANGUAGES,
        "invite_form": InviteForm(),
        "date_form": DateForm(),
        # The same field on one page twice: the early-end form gets its own ids.
        "stop_form": DateForm(auto_id="id_stop_%s"),
        "sponsor_form": SponsorForm(),
        "paper_form": PaperCountsForm(),
        "sponsors": list(initiative.sponsors.all()),
        "reports": list(initiative.progress_reports.all()),
        "errors": errors or {},
        "invitation_link": invitation,
        "can_withdraw": initiative.status in lifecycle.BEFORE_SUBMISSION,
        "submission": submission_data(initiative)
        if initiative.status in (Initiative.Status.VERIFIED, Initiative.Status.SUBMITTED)
        else None,
    }
    return render(
        request, "backoffice/organiser/dashboard.html", context, status=422 if errors else 200
    )


def embed_language_choice(raw: str | None) -> str:
    """The counter's language the organiser chose: a code of ``LANGUAGES``, or "" for each
    visitor's own. Anything else (typed into the address) is no choice, not an error."""
    code = (raw or "").strip().lower()
    return code if code in dict(settings.LANGUAGES) else ""


def embed_url(initiative: Initiative, *, language: str) -> str:
    """The counter's address on this site, in ``language`` ("" for each visitor's own)."""
    url = reverse("ledger:counter", args=[initiative.slug])
    return url + "?" + urlencode({"lang": language}) if language else url


def embed_snippet(request: HttpRequest, initiative: Initiative, *, language: str) -> str:
    """HTML for the organisers' own site: one inert iframe of the live counter.

    Every value is escaped (a title may hold quotes or markup); the page shows the snippet as
    text (force_escape in the template). With a language the counter always speaks it
    (``?lang=``); without one it speaks each visitor's. Sized for a sidebar: its full width up
    to the width the counter is laid out for, 200 px high, as the counter page expects.
    """
    url = request.build_absolute_uri(embed_url(initiative, language=language))
    return format_html(
        '<iframe src="{}" title="{}" width="100%" height="200" loading="lazy"'
        ' style="max-width: 480px; border: 0"></iframe>',
        url,
        initiative.text("title", language or get_language()),
    )


def _act(
    request: AuthenticatedHttpRequest,
    slug: str,
    action: Callable[[Initiative], Any],
    success: str,
) -> HttpResponse:
    initiative = organised_initiative(request, slug)
    try:
        action(initiative)
    except DomainError as exc:
        initiative.refresh_from_db()
        return _render_dashboard(request, initiative, errors=exc.messages())
    messages.success(request, success)
    return HttpResponseRedirect(reverse("backoffice:organiser-dashboard", args=[slug]))


@require_POST
@login_and_2fa_required
def invite(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    initiative = organised_initiative(request, slug)
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _render_dashboard(request, initiative, errors=form_errors(form))
    try:
        invitation = lifecycle.organiser_invite(
            initiative=initiative, actor=request.user, **form.cleaned_data
        )
    except DomainError as exc:
        return _render_dashboard(request, initiative, errors=exc.messages())
    link = request.build_absolute_uri(reverse("backoffice:join", args=[invitation.token]))
    # Shown once: only its hash is stored. The organiser passes it on by a channel of their choice.
    return _render_dashboard(request, initiative, invitation=link)


@login_and_2fa_required
def join(request: AuthenticatedHttpRequest, token: str) -> HttpResponse:
    if request.method != "POST":
        return render(request, "backoffice/organiser/join.html", {"token": token})
    try:
        member = lifecycle.organiser_confirm(token=token, user=request.user)
    except DomainError as exc:
        return render(
            request,
            "backoffice/organiser/join.html",
            {"token": token, "error": exc.message},
            status=400,
        )
    messages.success(request, _("You are now a member of this group of organisers."))
    return HttpResponseRedirect(
        reverse("backoffice:organiser-dashboard", args=[member.initiative.slug])
    )


@require_POST
@login_and_2fa_required
def request_registration(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    return _act(
        request,
        slug,
        lambda i: lifecycle.initiative_request_registration(initiative=i, actor=request.user),
        _("Registration requested. The registrar will decide within two months."),
    )


def _dated(
    request: AuthenticatedHttpRequest,
    slug: str,
    apply: Callable[[Initiative, Any], Any],
    success: str,
    *,
    field: str = "date",
) -> HttpResponse:
    """`field` is the error key, matching the id of the date input on the dashboard."""
    form = DateForm(request.POST)
    if not form.is_valid():
        initiative = organised_initiative(request, slug)
        return _render_dashboard(
            request, initiative, errors={field: form_errors(form).get("date", [])}
        )

    def apply_date(initiative: Initiative) -> Any:
        try:
            return apply(initiative, form.cleaned_data["date"])
        except lifecycle.InvalidRequest as exc:
            # The services name the date "start" or "end"; the form (and the page) call it "date".
            reasons = [reason for found in exc.errors.values() for reason in found]
            raise lifecycle.InvalidRequest({field: reasons}) from exc

    return _act(request, slug, apply_date, success)


@require_POST
@login_and_2fa_required
def set_start(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    return _dated(
        request,
        slug,
        lambda i, day: lifecycle.initiative_set_collection_start(
            initiative=i, start=day, actor=request.user
        ),
        _("The start of collection is announced."),
    )


@require_POST
@require_recent_verification(minutes=10)
def stop_collection(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    return _dated(
        request,
        slug,
        lambda i, day: lifecycle.initiative_stop_collection(
            initiative=i, end=day, actor=request.user
        ),
        _("The early end of collection is announced."),
        field="stop_date",
    )


@require_POST
@require_recent_verification(minutes=10)
def withdraw(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    return _act(
        request,
        slug,
        lambda i: lifecycle.initiative_withdraw(initiative=i, actor=request.user),
        _("The initiative is withdrawn."),
    )


@require_POST
@login_and_2fa_required
def add_sponsor(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    form = SponsorForm(request.POST)
    if not form.is_valid():
        initiative = organised_initiative(request, slug)
        return _render_dashboard(request, initiative, errors=form_errors(form))
    return _act(
        request,
        slug,
        lambda i: lifecycle.sponsor_add(initiative=i, actor=request.user, **form.cleaned_data),
        _("The sponsor is declared and published."),
    )


@require_POST
@login_and_2fa_required
def report_progress(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    form = PaperCountsForm(request.POST)
    if not form.is_valid():
        initiative = organised_initiative(request, slug)
        return _render_dashboard(request, initiative, errors=form_errors(form))
    paper = {code: value for code, value in form.cleaned_data.items() if value}
    return _act(
        request,
        slug,
        lambda i: lifecycle.progress_report_file(
            initiative=i,
            online_count=initiative_counts(i).total,
            paper_counts=paper,
            actor=request.user,
        ),
        _("The progress report is filed."),
    )


@require_POST
@require_recent_verification(minutes=10)
def request_verification(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    return _act(
        request,
        slug,
        lambda i: verification_request(initiative=i, actor=request.user),
        _("Verification requested. Each authority can now download its batch."),
    )


@require_POST
@require_recent_verification(minutes=10)
def submit(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    if request.POST.get("declaration") != "yes":
        initiative = organised_initiative(request, slug)
        return _render_dashboard(
            request, initiative, errors={"declaration": [str(DECLARATION_NEEDED)]}
        )
    return _act(
        request,
        slug,
        lambda i: lifecycle.initiative_submit_to_commission(initiative=i, actor=request.user),
        _("The initiative is submitted to the Commission."),
    )
