from django.urls import path

from quorum.backoffice import (
    authority,
    embedding,
    keys,
    operator,
    organiser,
    partners,
    registrar,
    updates,
    views,
)

app_name = "backoffice"

urlpatterns = [
    path("", views.home, name="home"),
    # Organisers
    path("initiatives/", organiser.my_initiatives, name="organiser-list"),
    path("initiatives/new/", organiser.draft_create, name="draft-create"),
    path("initiatives/<slug:slug>/", organiser.dashboard, name="organiser-dashboard"),
    path("initiatives/<slug:slug>/invite/", organiser.invite, name="invite"),
    path(
        "initiatives/<slug:slug>/request-registration/",
        organiser.request_registration,
        name="request-registration",
    ),
    path("initiatives/<slug:slug>/start/", organiser.set_start, name="set-start"),
    path("initiatives/<slug:slug>/stop/", organiser.stop_collection, name="stop-collection"),
    path("initiatives/<slug:slug>/withdraw/", organiser.withdraw, name="withdraw"),
    path("initiatives/<slug:slug>/sponsors/", organiser.add_sponsor, name="add-sponsor"),
    path("initiatives/<slug:slug>/report/", organiser.report_progress, name="report-progress"),
    path(
        "initiatives/<slug:slug>/request-verification/",
        organiser.request_verification,
        name="request-verification",
    ),
    path("initiatives/<slug:slug>/submit/", organiser.submit, name="submit"),
    path("initiatives/<slug:slug>/updates/", updates.updates, name="organiser-updates"),
    path(
        "initiatives/<slug:slug>/signing-form/",
        embedding.signing_form,
        name="organiser-signing-form",
    ),
    path("initiatives/<slug:slug>/partners/", partners.partners, name="organiser-partners"),
    path("join/<str:token>/", organiser.join, name="join"),
    # The operator
    path("operator/authorities/", operator.authorities, name="operator-authorities"),
    path("operator/authorities/keys/", operator.authority_keys, name="operator-authority-keys"),
    # The registrar
    path("designations/", keys.designations, name="designations"),
    path("designations/record/", keys.designation_record, name="designation-record"),
    path("registrar/", registrar.queue, name="registrar-queue"),
    path("registrar/<slug:slug>/", registrar.detail, name="registrar-detail"),
    path("registrar/<slug:slug>/decide/", registrar.decide, name="registrar-decide"),
    path("registrar/<slug:slug>/translation/", registrar.translation, name="registrar-translation"),
    path("registrar/<slug:slug>/extension/", registrar.extension, name="registrar-extension"),
    path("registrar/<slug:slug>/follow-up/", registrar.follow_up, name="registrar-follow-up"),
    # The authorities' staff
    path("authority/<str:member_state>/", authority.home, name="authority-home"),
    path(
        "authority/<str:member_state>/<slug:slug>/batch/",
        authority.batch_download,
        name="authority-batch",
    ),
    path("authority/<str:member_state>/keys/", authority.staff_key_upload, name="authority-keys"),
    path(
        "authority/<str:member_state>/certificate/",
        authority.certificate_upload,
        name="authority-certificate",
    ),
]
