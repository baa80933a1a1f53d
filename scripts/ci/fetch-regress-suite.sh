#!/usr/bin/env bash
# Fetch PostgreSQL's own regression suite (sql/, expected/, data/, input/,
# output/, the schedules) from Debian's postgresql-MAJOR source package into
# the directory the corpus test reads (PGSHIFT_REGRESS_DIR, default
# ~/.cache/pgshift/regress-MAJOR). pg_regress itself comes from the
# postgresql-MAJOR binary package. Skipped when the directory is complete.
# Usage: fetch-regress-suite.sh [MAJOR]   (default 15)
set -euo pipefail

major=${1:-15}
dest=${PGSHIFT_REGRESS_DIR:-$HOME/.cache/pgshift/regress-$major}
if [ -f "$dest/parallel_schedule" ] && [ -d "$dest/sql" ]; then
  echo "regression suite $major already at $dest"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get source --download-only "postgresql-$major" >/dev/null 2>&1 || {
  echo "fetch-regress-suite: apt-get source postgresql-$major failed (is there a deb-src entry? see debian-sources.sh)" >&2; exit 1; }
tar xf postgresql-"$major"_*.orig.tar.* --wildcards '*/src/test/regress/*'
mkdir -p "$(dirname "$dest")"
rm -rf "$dest"
mv postgresql-"$major".*/src/test/regress "$dest"
# The server (an unprivileged user) reads data/ and writes results next to it.
chmod -R a+rX "$dest"
echo "regression suite $major at $dest"
