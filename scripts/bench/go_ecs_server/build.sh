#!/bin/sh
# Builds aws-vault's ECS server reference (main.go) offline into $1 (default /tmp/go-ecs-server),
# against Debian's aws-sdk-go-v2 sources in /usr/share/gocode (GOPATH mode, no module download).
set -eu
out="${1:-/tmp/go-ecs-server}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
here="$(cd "$(dirname "$0")" && pwd)"

if ! command -v go >/dev/null 2>&1; then
  echo "build.sh: 'go' not found on PATH; install Go (Debian: apt-get install golang-go)" >&2
  exit 1
fi
sdk=/usr/share/gocode/src/github.com/aws/aws-sdk-go-v2/aws
if [ ! -d "$sdk" ]; then
  echo "build.sh: installing golang-github-aws-aws-sdk-go-v2-dev" >&2
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y golang-github-aws-aws-sdk-go-v2-dev >&2; then
    echo "build.sh: could not install golang-github-aws-aws-sdk-go-v2-dev (needs root and apt)" >&2
    exit 1
  fi
fi

cd "$here"
# go needs a build cache directory; give it one when HOME is unset.
[ -n "${GOCACHE:-}${XDG_CACHE_HOME:-}${HOME:-}" ] || export GOCACHE=/tmp/go-build-cache
GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= go build -trimpath -o "$out" .
echo "$out"
