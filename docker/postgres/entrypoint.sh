#!/bin/sh
# Creates the cluster on first start, then runs PostgreSQL in the foreground.
#   POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB   the application's role and database
#   PGHOST_BIND (default 127.0.0.1), PGPORT (default 5432)
set -eu
data=/var/lib/postgresql/data
bin=/usr/local/lib/pgbin
user="${POSTGRES_USER:-ari_app}"
db="${POSTGRES_DB:-ari_app}"
port="${PGPORT:-5432}"
[ -n "${POSTGRES_PASSWORD:-}" ] || { echo "postgres-entrypoint: POSTGRES_PASSWORD is not set" >&2; exit 2; }
mkdir -p "$data" /run/postgresql
chown -R postgres: "$data" /run/postgresql
chmod 0700 "$data"
if [ ! -s "$data/PG_VERSION" ]; then
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    chown postgres "$pwfile"
    su postgres -s /bin/sh -c "$bin/initdb -D $data -U $user --pwfile=$pwfile -E UTF8 --locale=C.UTF-8 -A scram-sha-256 --auth-local=trust" >/dev/null
    rm -f "$pwfile"
    su postgres -s /bin/sh -c "$bin/pg_ctl -D $data -o '-c listen_addresses= -p $port' -w start" >/dev/null
    su postgres -s /bin/sh -c "$bin/psql -p $port -U $user -d postgres -qc 'CREATE DATABASE \"$db\"'" ||
        [ "$db" = postgres ]
    su postgres -s /bin/sh -c "$bin/pg_ctl -D $data -w stop" >/dev/null
fi
exec su postgres -s /bin/sh -c "exec $bin/postgres -D $data -c listen_addresses=${PGHOST_BIND:-127.0.0.1} -p $port"
