from django.core.management.commands import makemessages


class Command(makemessages.Command):
    """Django's makemessages, also collecting the rules package's N_("…") messages.

    quorum.rules is pure Python and cannot call gettext; it marks its reasons with N_ and
    the web layer translates them.
    """

    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=N_"]
