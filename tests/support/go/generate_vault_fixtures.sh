#!/usr/bin/env bash
# Regenerates tests/fixtures/vault/go-store/ with the real jose2go library (see tests/fixtures/vault/README.md).
# Needs: apt-get install golang-go golang-github-dvsekhvalnov-jose2go-dev
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
store="$here/../../fixtures/vault/go-store"
bin="$(mktemp -d)/filevault"
trap 'rm -rf "$(dirname "$bin")"' EXIT
GO111MODULE=off GOPATH=/usr/share/gocode go build -o "$bin" "$here/filevault.go"
rm -rf "$store"
export AWS_VAULT_FILE_PASSPHRASE='correct horse battery staple'

"$bin" write "$store" work \
  '{"AccessKeyID":"AKIAIOSFODNN7EXAMPLE","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY","SessionToken":"","Source":"","CanExpire":false,"Expires":"0001-01-01T00:00:00Z"}' \
  'aws-vault (work)' '' true
"$bin" write "$store" 'sts.GetSessionToken,d29yaw,YXJuOmF3czppYW06OjExMTExMTExMTExMTptZmEvam9uc21pdGg,1685000000' \
  '{"AccessKeyId":"ASIAIOSFODNN7EXAMPLE","Expiration":"2023-05-25T07:33:20Z","SecretAccessKey":"sessionSecretEXAMPLE","SessionToken":"FwoGZXIvYXdzEXAMPLETOKEN"}' \
  'aws-vault session for work (expires 2023-05-25T07:33:20Z)' 'aws-vault session'
"$bin" write "$store" 'oidc:https://acme.awsapps.com/start' \
  '{"Token":{"AccessToken":"aoaEXAMPLEACCESSTOKEN","ExpiresIn":28800,"IdToken":null,"RefreshToken":null,"TokenType":"Bearer","ResultMetadata":{}},"Expiration":"2023-05-25T17:30:06.1234567+10:00"}' \
  'aws-vault oidc token for https://acme.awsapps.com/start (expires 2023-05-25T17:30:06+10:00)' 'aws-vault oidc token'
"$bin" write "$store" '100%/legacy' 'plain <data> & more' 'label with <html> & "quotes"' 'description ü'

# What Go's json.Marshal(Item) gives for each decrypted item, one JSON line per key (for byte-exact comparison).
"$bin" keys "$store" | while IFS= read -r key; do "$bin" read "$store" "$key" | head -n 1; done \
  >"$store/../go-store-items.jsonl"
