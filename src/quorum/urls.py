from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("account/", include("quorum.core.accounts.urls")),
    path("manage/", include("quorum.backoffice.urls")),
    path("", include("quorum.api.urls")),
    path("", include("quorum.signing.urls")),
    path("", include("quorum.ledger.urls")),
    path("", include("quorum.initiatives.urls")),
]
