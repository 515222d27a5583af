#!/usr/bin/env bash
# Install everything readiness and its tests need on Debian 12 / Ubuntu: system tools, then the
# Python package (editable, with test extras). Run as root (or with sudo).
set -euo pipefail
cd "$(dirname "$0")"

export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends \
  tshark iperf3 libiperf0 snmp snmpd baresip-core kamailio sipsak sngrep \
  iproute2 iptables nftables iputils-ping poppler-utils irtt procps ca-certificates openssl \
  dnsmasq-base chromium fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
  gcc libc6-dev python3-dev \
  >/dev/null

python3 -m pip install -q --upgrade pip >/dev/null 2>&1 || true
python3 -m pip install -q -e '.[test]'
# An editable install leaves the byte code to the first import, which writes none where
# PYTHONDONTWRITEBYTECODE is set: every command would then compile the package again (~0.1 s).
python3 -m compileall -q readiness >/dev/null
# pyenv installs console scripts behind shims; refresh them so `readiness` is on PATH.
if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
command -v readiness >/dev/null || { echo "setup: readiness is not on PATH" >&2; exit 1; }
echo "readiness $(readiness --version | awk '{print $NF}') installed"
