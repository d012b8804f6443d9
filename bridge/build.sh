#!/usr/bin/env bash
# Compiles the Scala bridge against the Spark jars that PySpark ships and packs it into
# sagespark/jars/sagespark-bridge.jar. Needs only a Java runtime: PySpark's jars include scala-compiler.
# Usage: bash bridge/build.sh [python]   (default: .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
py=${1:-.venv/bin/python}
jars=$("$py" -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))')
out=sagespark/jars/sagespark-bridge.jar
classes=$(mktemp -d)
trap 'rm -rf "$classes"' EXIT
java -Xss4m -cp "$(echo $jars/scala-compiler-*.jar $jars/scala-library-*.jar $jars/scala-reflect-*.jar | tr ' ' ':')" \
    scala.tools.nsc.Main -nowarn -usejavacp -classpath "$jars/*" -d "$classes" \
    $(find bridge/src/main/scala -name '*.scala')
mkdir -p "$(dirname "$out")"
"$py" - "$classes" "$out" <<'PY'
import os, sys, zipfile
classes, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out + ".tmp", "w", zipfile.ZIP_DEFLATED) as jar:
    jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nCreated-By: sagespark bridge/build.sh\r\n\r\n")
    for root, _, files in os.walk(classes):
        for name in sorted(files):
            path = os.path.join(root, name)
            jar.write(path, os.path.relpath(path, classes))
os.replace(out + ".tmp", out)
PY
echo "built $out"
