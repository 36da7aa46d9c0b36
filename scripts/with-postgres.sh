#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL cluster and a PgBouncer in
# transaction mode in front of it, each on a free loopback port.
#
#   scripts/with-postgres.sh CMD [ARGS...]
#
# The command sees:
#
#   TENANTKIT_POSTGRES_URL            the owner role tenantkit_owner: owns the
#                                     database and the tables the tests create
#                                     (runs the migrations); not a superuser
#   TENANTKIT_POSTGRES_APP_URL        the application role tenantkit_app: no
#                                     superuser, no BYPASSRLS, owns nothing;
#                                     it may use every schema and table that
#                                     tenantkit_owner creates (default
#                                     privileges)
#   TENANTKIT_POSTGRES_SUPERUSER_URL  the bootstrap superuser tenantkit_admin
#                                     (for tests that create roles)
#   TENANTKIT_PGBOUNCER_APP_URL       tenantkit_app through PgBouncer
#                                     (pool_mode = transaction, 4 server
#                                     connections for the database)
#   TENANTKIT_PGBOUNCER_URL           tenantkit_owner through PgBouncer
#
# All are postgres:// URLs on 127.0.0.1 for the database tenantkit. The
# cluster is made by initdb in a temporary directory (fsync off: nothing in
# it is meant to survive) and removed, with PgBouncer's files, when the
# command ends, whatever its exit status. Authentication is trust on
# loopback only.
#
# PostgreSQL and PgBouncer come from Debian (packages postgresql and
# pgbouncer), installed with apt-get when missing and we are root. initdb,
# postgres and pgbouncer refuse to run as root: as root they run as the
# postgres user the Debian package creates. If either cannot be had, the
# command runs without the variables: the PostgreSQL tests then skip, or
# fail under CI=true.
set -euo pipefail

log() { echo "with-postgres: $*" >&2; }

find_pgbin() {
	local d
	if command -v pg_config >/dev/null 2>&1; then
		d=$(pg_config --bindir 2>/dev/null || true)
		if [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then
			echo "$d"
			return
		fi
	fi
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then
			echo "$d"
			return
		fi
	done
	if command -v initdb >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1; then
		dirname "$(command -v initdb)"
	fi
}

pgbin=$(find_pgbin)
pgbouncer=$(command -v pgbouncer || ls /usr/sbin/pgbouncer 2>/dev/null || true)
if [ -z "$pgbin" ] || [ -z "$pgbouncer" ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		log "installing postgresql pgbouncer"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >/dev/null
		apt-get install -y -qq postgresql pgbouncer >/dev/null
		pgbin=$(find_pgbin)
		pgbouncer=$(command -v pgbouncer || ls /usr/sbin/pgbouncer 2>/dev/null || true)
	fi
fi
if [ -z "$pgbin" ] || [ -z "$pgbouncer" ]; then
	log "PostgreSQL or PgBouncer not found and cannot be installed; PostgreSQL tests will skip (or fail under CI=true)"
	exec "$@"
fi

# As root, the servers run as the postgres user; setpriv execs the program
# itself (no intermediate process), so the PIDs we keep are the servers'.
as_user=()
if [ "$(id -u)" = 0 ]; then
	if ! id postgres >/dev/null 2>&1; then
		log "running as root and there is no postgres user; PostgreSQL tests will skip (or fail under CI=true)"
		exec "$@"
	fi
	as_user=(setpriv --reuid=postgres --regid=postgres --init-groups --reset-env)
fi

. "$(dirname "$0")/lib.sh"

dir=$(mktemp -d "${TMPDIR:-/tmp}/tenantkit-pg.XXXXXX")
pg_pid=""
bouncer_pid=""
cleanup() {
	# Fast shutdown of postgres (SIGINT), then whatever is left.
	if [ -n "$bouncer_pid" ]; then
		kill "$bouncer_pid" 2>/dev/null || true
		wait "$bouncer_pid" 2>/dev/null || true
	fi
	if [ -n "$pg_pid" ]; then
		kill -INT "$pg_pid" 2>/dev/null || true
		for _ in $(seq 1 100); do
			kill -0 "$pg_pid" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$pg_pid" 2>/dev/null || true
		wait "$pg_pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

chmod 700 "$dir"
if [ ${#as_user[@]} -gt 0 ]; then chown postgres:postgres "$dir"; fi

pg_port=$(free_port)
bouncer_port=$(free_port)
while [ "$bouncer_port" = "$pg_port" ]; do bouncer_port=$(free_port); done

if ! "${as_user[@]}" "$pgbin/initdb" -D "$dir/data" -U tenantkit_admin --auth=trust \
	-E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
	log "initdb failed:"
	cat "$dir/initdb.log" >&2
	exit 1
fi

# Loopback TCP only; the socket directory is the temporary one, so nothing
# else on the machine is touched.
"${as_user[@]}" "$pgbin/postgres" -D "$dir/data" -p "$pg_port" \
	-c listen_addresses=127.0.0.1 -c unix_socket_directories="$dir" \
	-c fsync=off -c synchronous_commit=off -c full_page_writes=off \
	-c max_connections=200 -c shared_buffers=64MB \
	-c log_min_messages=warning -c logging_collector=off \
	>"$dir/postgres.log" 2>&1 &
pg_pid=$!

up=""
for _ in $(seq 1 200); do
	if "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" -U tenantkit_admin 2>/dev/null; then
		up=1
		break
	fi
	kill -0 "$pg_pid" 2>/dev/null || break
	sleep 0.05
done
if [ -z "$up" ]; then
	log "postgres did not start on 127.0.0.1:$pg_port:"
	cat "$dir/postgres.log" >&2
	exit 1
fi

psql_admin() {
	"$pgbin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U tenantkit_admin "$@"
}
psql_admin -d postgres >/dev/null <<'SQL'
CREATE ROLE tenantkit_owner LOGIN;
CREATE ROLE tenantkit_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
CREATE DATABASE tenantkit OWNER tenantkit_owner;
SQL
psql_admin -d tenantkit >/dev/null <<'SQL'
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT CREATE, USAGE ON SCHEMA public TO tenantkit_owner;
GRANT USAGE ON SCHEMA public TO tenantkit_app;
ALTER DEFAULT PRIVILEGES FOR ROLE tenantkit_owner GRANT USAGE ON SCHEMAS TO tenantkit_app;
ALTER DEFAULT PRIVILEGES FOR ROLE tenantkit_owner
	GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO tenantkit_app;
ALTER DEFAULT PRIVILEGES FOR ROLE tenantkit_owner GRANT USAGE, SELECT ON SEQUENCES TO tenantkit_app;
SQL

# PgBouncer in transaction mode: a server connection is the client's for
# one transaction only, so session state set by one client would be seen by
# another. Fewer server connections than a test pool's clients make that
# sharing certain.
cat >"$dir/userlist.txt" <<'EOF'
"tenantkit_app" ""
"tenantkit_owner" ""
EOF
cat >"$dir/pgbouncer.ini" <<EOF
[databases]
tenantkit = host=127.0.0.1 port=$pg_port dbname=tenantkit pool_size=4

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bouncer_port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
max_client_conn = 400
default_pool_size = 4
server_reset_query =
ignore_startup_parameters = extra_float_digits
logfile = $dir/pgbouncer.log
pidfile =
admin_users =
EOF
if [ ${#as_user[@]} -gt 0 ]; then chown postgres:postgres "$dir/userlist.txt" "$dir/pgbouncer.ini"; fi
"${as_user[@]}" "$pgbouncer" -q "$dir/pgbouncer.ini" >>"$dir/pgbouncer.out" 2>&1 &
bouncer_pid=$!

up=""
for _ in $(seq 1 200); do
	if "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$bouncer_port" -U tenantkit_app -d tenantkit 2>/dev/null; then
		up=1
		break
	fi
	kill -0 "$bouncer_pid" 2>/dev/null || break
	sleep 0.05
done
if [ -z "$up" ]; then
	log "pgbouncer did not start on 127.0.0.1:$bouncer_port:"
	cat "$dir/pgbouncer.out" "$dir/pgbouncer.log" >&2 2>/dev/null || true
	exit 1
fi

export TENANTKIT_POSTGRES_URL="postgres://tenantkit_owner@127.0.0.1:$pg_port/tenantkit?sslmode=disable"
export TENANTKIT_POSTGRES_APP_URL="postgres://tenantkit_app@127.0.0.1:$pg_port/tenantkit?sslmode=disable"
export TENANTKIT_POSTGRES_SUPERUSER_URL="postgres://tenantkit_admin@127.0.0.1:$pg_port/tenantkit?sslmode=disable"
export TENANTKIT_PGBOUNCER_APP_URL="postgres://tenantkit_app@127.0.0.1:$bouncer_port/tenantkit?sslmode=disable"
export TENANTKIT_PGBOUNCER_URL="postgres://tenantkit_owner@127.0.0.1:$bouncer_port/tenantkit?sslmode=disable"
log "postgres $("$pgbin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port, pgbouncer (transaction mode) on 127.0.0.1:$bouncer_port"
"$@"
