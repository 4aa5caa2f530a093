#!/usr/bin/env bash
# Refresh the translation catalogues from the source, then compile them.
# Run after changing any user-visible string; commit the .po and .mo files.
set -euo pipefail
cd "$(dirname "$0")/../src/quorum"
export DJANGO_SETTINGS_MODULE=quorum.settings QUORUM_DATA_DIR="${QUORUM_DATA_DIR:-$(mktemp -d)}"
languages=(bg cs da de el es et fi fr ga hr hu it lt lv mt nl pl pt ro sk sl sv)
args=()
for language in "${languages[@]}"; do args+=(-l "$language"); done
../../.venv/bin/python -m quorum.cli makemessages "${args[@]}" --add-location=file --no-obsolete \
  --ignore='migrations/*' --ignore='static/*' >/dev/null
# The creation date changes on every run; keep it fixed so that the catalogues only change with the text.
sed -i 's/^"POT-Creation-Date: .*\\n"$/"POT-Creation-Date: 2026-01-01 00:00+0000\\n"/' locale/*/LC_MESSAGES/django.po
../../.venv/bin/django-admin compilemessages >/dev/null
