#!/usr/bin/env bash
# Installs what bench/run.ts compares storaged with: rclone and s3fs from
# Debian, plus FUSE. Idempotent: installs only what is missing. Needs root.
set -euo pipefail

missing=()
command -v rclone >/dev/null 2>&1 || missing+=(rclone)
command -v s3fs >/dev/null 2>&1 || missing+=(s3fs)
command -v fusermount >/dev/null 2>&1 || missing+=(fuse)
dpkg -s libfuse2 >/dev/null 2>&1 || missing+=(libfuse2)

if ((${#missing[@]} > 0)); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
fi

rclone version | head -n 1
s3fs --version 2>&1 | head -n 1
[ -e /dev/fuse ] || { echo "bench/setup.sh: /dev/fuse is missing: FUSE mounts cannot work here" >&2; exit 1; }
