#!/usr/bin/env bash
# Build PostgreSQL's client tools (pg_dump, pg_dumpall, pg_restore, psql and
# their libpq) of one major version from Debian's source package, into
# /usr/lib/postgresql/MAJOR (where postgresql-client-MAJOR would put them, so
# pgshift's tool discovery finds them as it would an installed package).
# Skipped when a pg_dump of that major or newer is already installed.
# Needs a deb-src entry for a suite carrying postgresql-MAJOR (debian-sources.sh).
# Usage: build-pg-client.sh MAJOR
set -euo pipefail

major=${1:?usage: build-pg-client.sh MAJOR}
prefix=/usr/lib/postgresql/$major
for d in /usr/lib/postgresql/*/bin; do
  v=$(basename "$(dirname "$d")")
  if [ -x "$d/pg_dump" ] && [ -x "$d/psql" ] && [ "$v" -ge "$major" ] 2>/dev/null; then
    echo "pg_dump $v already at $d: not building"
    exit 0
  fi
done

export DEBIAN_FRONTEND=noninteractive
missing=()
for p in bison flex libssl-dev zlib1g-dev pkg-config make gcc; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then apt-get install -y -qq "${missing[@]}" >/dev/null; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get source --download-only "postgresql-$major" >/dev/null 2>&1 || {
  echo "build-pg-client: apt-get source postgresql-$major failed (is there a deb-src entry carrying it? see debian-sources.sh)" >&2; exit 1; }
tar xf postgresql-"$major"_*.orig.tar.*
cd postgresql-"$major".*/
./configure --prefix="$prefix" --without-icu --without-readline --with-openssl >configure.log 2>&1 || { tail -20 configure.log >&2; exit 1; }
make -s -C src/backend generated-headers >build.log 2>&1 || { tail -20 build.log >&2; exit 1; }
for d in src/interfaces/libpq src/bin/pg_dump src/bin/psql; do
  make -s -j"$(nproc)" -C "$d" >>build.log 2>&1 && make -s -C "$d" install >>build.log 2>&1 || { tail -20 build.log >&2; exit 1; }
done
"$prefix/bin/pg_dump" --version
