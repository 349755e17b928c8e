#!/usr/bin/env bash
# Writes packages/contracts/test/java-fingerprints.json from Apache Avro for Java (needs java, mvn).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
cp=$(mktemp)
mvn -q -B -f "$here/pom.xml" dependency:build-classpath -Dmdep.outputFile="$cp" >&2
java -cp "$(cat "$cp")" "$here/AvroFingerprints.java" "$root"/schemas/*/v*.avsc >"$root/packages/contracts/test/java-fingerprints.json"
rm -f "$cp"
echo "wrote packages/contracts/test/java-fingerprints.json" >&2
