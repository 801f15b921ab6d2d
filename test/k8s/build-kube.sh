#!/usr/bin/env bash
# Builds kube-apiserver and kube-scheduler v1.20.2 from Debian's `kubernetes`
# source package (the upstream tree with vendor/), once: the binaries are cached
# under $PETREL_KUBE_CACHE (default ~/.cache/petrel/kube-1.20.2), so later runs
# take no time. Needs root for apt-get (golang-go, etcd-server, openssl) the first
# time. Prints the cache directory on its last line.
set -euo pipefail

CACHE="${PETREL_KUBE_CACHE:-$HOME/.cache/petrel/kube-1.20.2}"
# One build at a time: test files that need the binaries may call this together.
mkdir -p "$(dirname "$CACHE")"
exec 9>"$CACHE.lock"
flock 9
if [ -x "$CACHE/kube-apiserver" ] && [ -x "$CACHE/kube-scheduler" ] && command -v etcd >/dev/null; then
  echo "$CACHE"
  exit 0
fi

need=()
for cmd in go:golang-go etcd:etcd-server rsync:rsync jq:jq openssl:openssl dpkg-source:dpkg-dev; do
  command -v "${cmd%%:*}" >/dev/null || need+=("${cmd#*:}")
done
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "build-kube: missing ${need[*]}; run as root or apt-get install -y ${need[*]}" >&2; exit 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
# etcd-server starts a system etcd on 2379; tests run their own on other ports.
if command -v systemctl >/dev/null && systemctl is-active --quiet etcd 2>/dev/null; then systemctl stop etcd || true; fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/petrel-kube-build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
APT="$WORK/apt"
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/sources"
sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$APT/sources/debian-src.sources"
APT_OPTS=(-o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=$APT/sources" -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache")
apt-get "${APT_OPTS[@]}" update -qq >&2
(cd "$WORK" && apt-get "${APT_OPTS[@]}" source --download-only kubernetes >&2)
(cd "$WORK" && dpkg-source --no-check -x kubernetes_*.dsc src >&2)

TREE="$WORK/src"
mkdir -p "$TREE/.go/src/k8s.io"
ln -s "$TREE" "$TREE/.go/src/k8s.io/kubernetes"
(cd "$TREE/.go/src/k8s.io/kubernetes" && GOPATH="$TREE/.go" GO111MODULE=off GOFLAGS=-mod=vendor CGO_ENABLED=0 \
  make WHAT="cmd/kube-apiserver cmd/kube-scheduler" >&2)

mkdir -p "$CACHE"
for bin in kube-apiserver kube-scheduler; do
  found="$(find "$TREE/_output" -type f -name "$bin" -perm -u+x | head -1)"
  [ -n "$found" ] || { echo "build-kube: $bin was not built" >&2; exit 1; }
  cp "$found" "$CACHE/$bin.tmp" && mv "$CACHE/$bin.tmp" "$CACHE/$bin"
done
echo "$CACHE"
