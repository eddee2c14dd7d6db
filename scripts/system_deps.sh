#!/usr/bin/env bash
# Installs the Debian packages Mahnwerk needs beyond Python, when they are missing:
#   runtime: Pango/HarfBuzz/fonts for WeasyPrint (PDF letters)
#   tests:   poppler-utils (pdftoppm renders letter pages), chromium (browser tests)
# Usage: scripts/system_deps.sh runtime|test
set -u
want=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 libfontconfig1 fonts-dejavu-core)
if [ "${1:-runtime}" = "test" ]; then
  want+=(poppler-utils chromium)
fi
if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "system_deps: not a Debian-like system; make sure these are installed: ${want[*]}" >&2
  exit 0
fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
  echo "system_deps: missing ${missing[*]} and no root rights: install them to render letters and run browser tests" >&2
  exit 0
fi
echo "system_deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || echo "system_deps: could not install ${missing[*]}" >&2
exit 0
