"""Start-up checks (``quorum check``; ``quorum serve`` and ``quorum demo`` run them first)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from quorum.core.datadir import make_private, shared_paths

#: Paths named in one message; the rest are counted.
NAMED = 10


@register(Tags.security, deploy=False)
def data_directory_is_private(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Anything in the data directory that others may read is made private, and said so.

    It is fixed rather than refused: removing the group and other bits of our own files takes
    nothing away from Quorum, and an install made by an older version (a 0755 directory)
    starts again at once. Refused (an error stops ``serve``) is only what cannot be fixed:
    a path that belongs to another user, or a shared directory. The warning is loud because
    whoever could read the files may have copied session keys, TOTP secrets or the log key.
    """
    root = Path(settings.DATA_DIR)
    if not root.is_dir():
        return []
    fixed: list[Path] = []
    messages: list[CheckMessage] = []
    for path in shared_paths(root):
        try:
            make_private(path)
        except OSError as exc:
            messages.append(
                Error(
                    f"{path} can be read by other users of this machine, and Quorum cannot "
                    f"make it private: {exc.strerror or exc}.",
                    hint="Give QUORUM_DATA_DIR a directory of its own, owned by the user that "
                    "runs Quorum, and run: chmod -R go-rwx on it.",
                    obj=str(path),
                    id="quorum.E001",
                )
            )
        else:
            fixed.append(path)
    if fixed:
        shown = ", ".join(str(path.relative_to(root)) for path in fixed[:NAMED])
        more = f" and {len(fixed) - NAMED} more" if len(fixed) > NAMED else ""
        messages.insert(
            0,
            Warning(
                f"{len(fixed)} path(s) in the data directory {root} could be read by other "
                f"users of this machine: {shown}{more}. Quorum has now made them private "
                "(directories 0700, files 0600).",
                hint="If other people have accounts on this machine, treat what was readable "
                "as seen: staff sessions and TOTP secrets in the database, the secret key, the "
                "log key (docs/operator.md, 'Files and their modes').",
                obj=str(root),
                id="quorum.W001",
            ),
        )
    return messages


@register(deploy=True)
def mail_goes_out(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``check --deploy``: mail to staff printed on standard output reaches nobody."""
    if settings.EMAIL_BACKEND.endswith("console.EmailBackend"):
        return [
            Warning(
                "QUORUM_EMAIL_URL is console://: invitations to organisers are written to "
                "standard output, not sent.",
                hint="Set QUORUM_EMAIL_URL to your mail server (docs/operator.md, 'Mail').",
                id="quorum.W002",
            )
        ]
    return []
