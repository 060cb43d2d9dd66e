#!/usr/bin/env bash
# Compiles the generated Kotlin with tests/kotlin/Scenario.kt and runs it
# on the JVM against the release library that generate.sh built.
#
# Tools, from the registries these machines reach: the Kotlin compiler
# from the npm package `kotlin-compiler` (the full distribution,
# kotlinc-jvm included; pinned, unpacked under target/kotlinc), JNA from
# Debian's libjna-java (5.13), a JDK from Debian if none is installed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target/ffi}
KOTLIN_VERSION=2.4.20
kotlinc_home=$root/target/kotlinc-$KOTLIN_VERSION
jna=/usr/share/java/jna.jar

if [[ ! -f $jna ]] || ! command -v java >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq libjna-java default-jdk-headless >/dev/null
fi
if [[ ! -x $kotlinc_home/bin/kotlinc ]]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "kotlin-compiler@$KOTLIN_VERSION" >/dev/null)
  mkdir -p "$kotlinc_home"
  tar xzf "$tmp"/kotlin-compiler-*.tgz -C "$kotlinc_home" --strip-components=1
  chmod +x "$kotlinc_home"/bin/*
  rm -rf "$tmp"
fi

lib_dir=$CARGO_TARGET_DIR/release
[[ -f $lib_dir/libkinseal_ffi.so ]] || { echo "run generate.sh first" >&2; exit 1; }
out=$root/target/kotlin-scenario
mkdir -p "$out"
"$kotlinc_home/bin/kotlinc" -nowarn -cp "$jna" -d "$out/scenario.jar" \
  "$here/generated/kotlin/uniffi/kinseal_ffi/kinseal_ffi.kt" \
  "$here/tests/kotlin/Scenario.kt"
java -Djna.library.path="$lib_dir" \
  -cp "$out/scenario.jar:$jna:$kotlinc_home/lib/kotlin-stdlib.jar" ScenarioKt
