#!/usr/bin/env bash
# The Basic + API key + JWT catalog against a modest server: Python's
# standard-library HTTPS service (third-party/python-dev/server.py: listen
# backlog 5, TLS handshakes in the accepting thread). Prints the run's wall
# time and its counts; fails when it takes more than 60 s or any case is
# `error` (a case the harness could not judge on a server that answers).
# Usage: benches/scripts/dev-server.sh [path/to/authbench]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${1:-target/release/authbench}"
[ -x "$bin" ] || cargo build --release -p authbench
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
# A CA and a leaf signed by it, as a real deployment has (a self-signed
# CA:TRUE certificate is no server certificate to a strict client).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=dev-ca -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
  -keyout "$work/key.pem" -out "$work/leaf.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$work/leaf.ext"
openssl x509 -req -in "$work/leaf.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
  -days 2 -extfile "$work/leaf.ext" -out "$work/cert.pem" 2>/dev/null
python3 third-party/python-dev/server.py 0 "$work/cert.pem" "$work/key.pem" "$work" "$work/ca.pem" > "$work/ready" &
server=$!
for _ in $(seq 1 100); do
  grep -q '^ready' "$work/ready" 2>/dev/null && break
  kill -0 "$server" || { echo "the dev server did not start" >&2; exit 1; }
  sleep 0.1
done
grep -q '^ready' "$work/ready" || { echo "the dev server printed no ready line" >&2; exit 1; }
start=$(date +%s.%N)
set +e
"$bin" conform --target "$work/target.toml" --methods basic,api_key,jwt --format json > "$work/results.json"
code=$?
set -e
end=$(date +%s.%N)
if [ "$code" = 2 ]; then echo "authbench could not run against the dev server (exit 2)" >&2; exit 1; fi
elapsed=$(python3 -c "print(f'{$end - $start:.1f}')")
python3 - "$work/results.json" "$elapsed" "$code" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))
s = results["summary"]
errors = [c["id"] + ": " + (c.get("reason") or "") for c in results["cases"] if c["outcome"] == "error"]
print(f"python-dev: {s['total']} cases in {sys.argv[2]} s (exit {sys.argv[3]}): "
      f"{s['pass']} pass, {s['fail']} fail, {s['warn']} warn, {s['skip']} skip, {s['error']} error; "
      f"{len(results.get('findings', []))} findings")
for e in errors:
    print("  error:", e)
ok = float(sys.argv[2]) <= 60 and not errors
sys.exit(0 if ok else 1)
PY
[ -z "${VERBOSE:-}" ] || "$bin" report --in "$work/results.json"
