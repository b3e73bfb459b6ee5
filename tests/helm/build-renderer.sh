#!/usr/bin/env bash
# Builds tests/helm/render (helm-render) with Debian's Go and Debian's Go
# sources of sprig and yaml.v3 (golang-go, golang-github-masterminds-sprig-dev,
# golang-gopkg-yaml.v3-dev), offline, in GOPATH mode. Debian installs modules
# without their /vN suffix, so a private GOPATH entry links the suffixed import
# paths to them.
#
# Usage: build-renderer.sh OUTPUT_BINARY WORK_DIR
set -euo pipefail
out=$1
work=$2
src=/usr/share/gocode/src
here=$(cd "$(dirname "$0")" && pwd)

command -v go >/dev/null || { echo "build-renderer: go not found (apt-get install golang-go)" >&2; exit 1; }
for d in github.com/Masterminds/sprig github.com/Masterminds/semver gopkg.in/yaml.v3; do
  [ -d "$src/$d" ] || { echo "build-renderer: $src/$d missing (apt-get install golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev)" >&2; exit 1; }
done

gopath=$work/gopath
mkdir -p "$gopath/src/github.com/Masterminds/sprig" "$gopath/src/github.com/Masterminds/semver" \
         "$gopath/src/leakwatch" "$work/gocache"
ln -sfn "$src/github.com/Masterminds/sprig" "$gopath/src/github.com/Masterminds/sprig/v3"
ln -sfn "$src/github.com/Masterminds/semver" "$gopath/src/github.com/Masterminds/semver/v3"
ln -sfn "$here/render" "$gopath/src/leakwatch/helm-render"

cd "$gopath/src/leakwatch/helm-render"
GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" GOCACHE="$work/gocache" GOFLAGS= \
  go build -o "$out" .
