#!/usr/bin/env bash
# Prometheus for the monitoring tests: Debian's `prometheus` package, which ships `prometheus` and
# `promtool`. The tests start their own Prometheus on a free port with their own scrape config
# (services/tests/monitoring); the Debian service, if apt-get started one, is left alone.
#
#   scripts/prometheus.sh install    apt-get it when missing
#   scripts/prometheus.sh check      promtool: the alert rules' unit tests (charts/tests/alerts)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

install() {
	if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
		return
	fi
	export DEBIAN_FRONTEND=noninteractive
	# Another apt-get (the servers' install) may hold the lock for a while on a cold machine.
	local apt=(apt-get -o DPkg::Lock::Timeout=600 -y -q --no-install-recommends)
	if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
		apt-get -o DPkg::Lock::Timeout=600 update -q
	fi
	if ! "${apt[@]}" install prometheus; then
		apt-get -o DPkg::Lock::Timeout=600 update -q
		"${apt[@]}" install prometheus
	fi
}

case "${1:-}" in
	install) install ;;
	check)
		cd "$ROOT/charts/tests/alerts"
		promtool check rules "$ROOT/charts/storybang/files/alerts.yaml"
		promtool test rules ./*_test.yaml
		;;
	*)
		echo "usage: $0 install|check" >&2
		exit 2
		;;
esac
