#!/usr/bin/env bash
# Extract the Chinese source strings from the templates, update the catalogues, compile them.
# zh_CN is the source language (msgids are Chinese); en holds the English translations.
set -euo pipefail
cd "$(dirname "$0")/.."
B=.venv/bin/pybabel
# (--ignore-dirs: the default also skips "_*" directories such as templates/_components)
$B extract -F babel.cfg -k _l --ignore-dirs=".*" --no-location --sort-output -o crm/translations/messages.pot . >/dev/null 2>&1
for lang in en zh_CN; do
  if [ -f "crm/translations/$lang/LC_MESSAGES/messages.po" ]; then
    $B update --no-fuzzy-matching -i crm/translations/messages.pot -d crm/translations -l "$lang" >/dev/null
  else
    $B init -i crm/translations/messages.pot -d crm/translations -l "$lang" >/dev/null
  fi
done
$B compile -d crm/translations --use-fuzzy 2>/dev/null || $B compile -d crm/translations
.venv/bin/python scripts/translate.py
# untranslated English strings, for the person adding pages:
.venv/bin/python - <<'PY'
from babel.messages.pofile import read_po
with open("crm/translations/en/LC_MESSAGES/messages.po", "rb") as f:
    missing = [m.id for m in read_po(f, locale="en") if m.id and not m.string]
for m in missing:
    print("untranslated:", m)
PY
