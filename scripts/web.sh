#!/usr/bin/env bash
# The web client (web/): install, generate and check the typed API client, build, test.
#
#   scripts/web.sh install   npm ci (when the lock file changed)
#   scripts/web.sh api       regenerate web/src/api/schema.d.ts from the services' OpenAPI document
#   scripts/web.sh check     fail when schema.d.ts is not what the OpenAPI document generates
#   scripts/web.sh build     type-check and build web/dist (what `storybang dev` and the web domain serve)
#   scripts/web.sh test      all of the above, then the unit tests (Vitest) and the browser tests
#                            (Playwright on Debian's chromium, against a real `storybang dev`)
#
# Browser downloads do not work on every machine: Playwright drives /usr/bin/chromium instead.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WEB="$ROOT/web"
PY="$ROOT/${VENV:-.venv}/bin/python"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
log() { printf 'web: %s\n' "$*" >&2; }

apt_install() {
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -q --no-install-recommends "$@"; then
		apt-get update -q
		apt-get install -y -q --no-install-recommends "$@"
	fi
}

install() {
	command -v npm >/dev/null || apt_install nodejs npm
	# Vite 8 needs Node 20.19 or newer (Debian 12's own nodejs is 18): say so instead of a stack trace.
	if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
		log "Node $(node --version) is too old: the web client needs Node 20.19 or newer"
		exit 1
	fi
	# npm ci only when package-lock.json changed since the last install.
	local stamp="$WEB/node_modules/.storybang-lock" want
	want="$(sha256sum "$WEB/package-lock.json" | cut -d' ' -f1)"
	if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
		log "npm ci"
		(cd "$WEB" && npm ci --no-audit --no-fund)
		echo "$want" >"$stamp"
	fi
}

# The OpenAPI document of every domain, from the application factory (no server, no store).
generate() { # $1: output file
	local doc
	doc="$(mktemp --suffix=.json)"
	"$PY" "$WEB/scripts/openapi.py" >"$doc"
	(cd "$WEB" && npx --no-install openapi-typescript "$doc" --default-non-nullable false -o "$1" >/dev/null)
	rm -f "$doc"
}

api() {
	generate "$WEB/src/api/schema.d.ts"
	log "src/api/schema.d.ts regenerated"
}

check() {
	local fresh
	fresh="$(mktemp --suffix=.d.ts)"
	generate "$fresh"
	if ! diff -u "$WEB/src/api/schema.d.ts" "$fresh"; then
		rm -f "$fresh"
		log "web/src/api/schema.d.ts is out of date with the API: run scripts/web.sh api and commit it"
		exit 1
	fi
	rm -f "$fresh"
	log "typed client up to date"
}

build() {
	(cd "$WEB" && npm run --silent build)
}

unit() {
	(cd "$WEB" && npx --no-install vitest run)
}

browser() {
	[[ -x /usr/bin/chromium ]] || apt_install chromium fonts-liberation
	(cd "$WEB" && npx --no-install playwright test "$@")
}

case "${1:-}" in
	install) install ;;
	api) install && api ;;
	check) install && check ;;
	build) install && build ;;
	unit) unit ;;
	browser) shift && install && browser "$@" ;;
	test) install && check && build && unit && browser ;;
	*) echo "usage: $0 install|api|check|build|unit|browser|test" >&2; exit 2 ;;
esac
