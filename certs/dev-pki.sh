#!/usr/bin/env bash
# Makes a complete PKI for a local or test install in one directory:
#   root/     trust anchor (ca.crt, ca.key)            -> trust anchors for proxies and the controller
#   issuer/   identity issuer (tls.crt, tls.key, ca.crt) -> --identity-issuer-dir
#   webhook/  webhook CA + serving cert (+ caBundle.b64) -> --tls-cert/--tls-key and caBundle
# Usage: certs/dev-pki.sh [OUT_DIR] [CONTROLLER_NAMESPACE]   (defaults: ./pki weft)
# Existing files are never overwritten; delete OUT_DIR to start over. For production, make the
# root on an offline machine instead (see certs/README.md).
set -euo pipefail

out=${1:-pki}
namespace=${2:-weft}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
weft=(node "$here/../bin/weft.js")

"${weft[@]}" certs trust-anchor --out "$out/root"
"${weft[@]}" certs issuer --anchor-cert "$out/root/ca.crt" --anchor-key "$out/root/ca.key" --out "$out/issuer"
"${weft[@]}" certs webhook --service weft-controller --namespace "$namespace" --dns localhost --ip 127.0.0.1 --out "$out/webhook"
