#!/usr/bin/env bash
# The scenario lab's system packages: a real JVM for runtime-heap-vs-limit
# (Debian's openjdk-17-jre-headless; its lib/modules carries jdk.compiler,
# so `java Hold.java` runs the lab's source file without a JDK). Installs
# with apt-get when missing; fails loudly when it cannot.
set -euo pipefail
if command -v java >/dev/null 2>&1 && java -version 2>&1 | grep -q 'version "17'; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "lab-deps: no java 17 on PATH and no apt-get to install openjdk-17-jre-headless" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "lab-deps: java 17 missing; installing openjdk-17-jre-headless needs root" >&2
  exit 1
fi
echo "lab-deps: installing openjdk-17-jre-headless" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
command -v java >/dev/null 2>&1 || { echo "lab-deps: openjdk-17-jre-headless installed but no java on PATH" >&2; exit 1; }
