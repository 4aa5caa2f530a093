from django.urls import include, path

from quorum.core.i18n import set_language

urlpatterns = [
    # Health checks and metrics, for load balancers and Prometheus (quorum.site.health).
    path("", include("quorum.site.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("account/", include("quorum.accounts.urls")),
    path("manage/", include("quorum.backoffice.urls")),
    path("", include("quorum.api.urls")),
    path("", include("quorum.signing.urls")),
    path("", include("quorum.updates.urls")),
    path("", include("quorum.ledger.urls")),
    path("", include("quorum.initiatives.urls")),
]

# Error pages that cannot fail, in the visitor's language (JSON under /api/).
handler400 = "quorum.core.error_pages.bad_request"
handler403 = "quorum.core.error_pages.permission_denied"
handler404 = "quorum.core.error_pages.page_not_found"
handler500 = "quorum.core.error_pages.server_error"
