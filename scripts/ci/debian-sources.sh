#!/usr/bin/env bash
# Add deb-src entries for this machine's Debian release and for the newest
# suite (which carries the newest PostgreSQL), reusing the URI of the
# machine's own Debian entry: no mirror host is written down here.
# Usage: debian-sources.sh [EXTRA_SUITE...]   (default extra suite: forky)
set -euo pipefail

out=/etc/apt/sources.list.d/pgshift-deb-src.sources
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || { echo "debian-sources: no VERSION_CODENAME in /etc/os-release" >&2; exit 1; }
extra=("$@")
[ ${#extra[@]} -gt 0 ] || extra=(forky)

# The URI of the entry serving the release's main archive, from deb822 files or sources.list.
uri=""
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] && [ "$f" != "$out" ] || continue
  uri=$(awk -v cn="$codename" '
    /^URIs:/ { u = $2 }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == cn) found = u }
    /^$/ { u = "" }
    END { if (found) print found }' "$f")
  [ -n "$uri" ] && break
done
if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
  uri=$(awk -v cn="$codename" '$1 == "deb" && $0 ~ (" " cn " ") { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
fi
[ -n "$uri" ] || { echo "debian-sources: found no Debian entry for $codename to take the URI from" >&2; exit 1; }

cat > "$out" <<SRC
Types: deb-src
URIs: $uri
Suites: $codename ${extra[*]}
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
echo "deb-src entries for $codename ${extra[*]} written to $out"
