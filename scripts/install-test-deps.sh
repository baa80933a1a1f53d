#!/usr/bin/env bash
# Everything the tests need that npm does not install, on Debian (as root):
#   - postgresql-client (pg_dump, psql, pgbench), postgresql-15 (a fifth server
#     version, and pg_regress for the regression corpus), pgbouncer;
#   - chromium (headless: the report test renders the HTML report in it);
#   - deb-src entries (the machine's own Debian URI) for:
#     - PostgreSQL 15's regression suite files (the corpus test),
#     - pg_dump/psql 18 built from Debian's postgresql-18 source package when
#       no client of 18 or newer is installed (sources 16-18 need it).
# Idempotent: what is already there is kept.
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive

need=()
command -v pg_dump >/dev/null 2>&1 || need+=(postgresql-client)
command -v pgbench >/dev/null 2>&1 || need+=(postgresql-client)
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
[ -x /usr/lib/postgresql/15/lib/pgxs/src/test/regress/pg_regress ] || need+=(postgresql-15)
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || need+=(pgbouncer)
# test/helpers/browser.ts runs /usr/bin/chromium, from Debian's chromium package.
[ -x /usr/bin/chromium ] || [ -x /usr/bin/chromium-browser ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
# The Debian packages start a cluster of their own; pgshift's tests do not use it.
if command -v pg_lsclusters >/dev/null 2>&1; then
  pg_lsclusters -h 2>/dev/null | awk '$4 == "online" {print $1, $2}' | while read -r v c; do pg_ctlcluster "$v" "$c" stop || true; done
fi

if [ ! -f /etc/apt/sources.list.d/pgshift-deb-src.sources ]; then
  bash ci/debian-sources.sh forky
  apt-get update -qq
fi
bash ci/fetch-regress-suite.sh 15
bash ci/build-pg-client.sh 18
