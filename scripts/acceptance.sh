#!/usr/bin/env bash
# The credential lifecycle as a new operator would try it against the local stack: `scimctl` for
# administration, curl for SCIM, the 11 acceptance steps of issue 4. Needs a running API (the
# base URL, e.g. http://127.0.0.1:9000), AWS_ENDPOINT_URL_DYNAMODB and TABLE_NAME;
# scripts/conformance.sh runs it against its `cargo lambda watch`.
# usage: scripts/acceptance.sh BASE_URL
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
base="$1"

scimctl() { "$ROOT/target/debug/scimctl" "$@"; }
# py EXPR: evaluates EXPR with `d` = the JSON on stdin.
py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
fail() { echo "acceptance: FAILED: $*" >&2; exit 1; }
step() { echo "acceptance: $*"; }
# scim_status TOKEN METHOD PATH [BODY]: the HTTP status of a SCIM request with TOKEN.
scim_status() {
  curl -s -o /dev/null -w '%{http_code}' -X "$2" -H "Authorization: Bearer $1" \
    -H 'Content-Type: application/scim+json' ${4:+-d "$4"} "$base/$tenant/scim/v2$3"
}
expect() { [ "$2" = "$3" ] || fail "$1: expected $2, got $3"; }

tenant=$(scimctl tenant create acceptance --json | json_field tenantId)

step "1. enable provisioning: the endpoint and a token, printed once"
enabled=$(scimctl provisioning enable "$tenant" --description first)
t1=$(sed -n 's/^token //p' <<<"$enabled")
[ -n "$t1" ] && grep -q "/$tenant/scim/v2" <<<"$enabled" || fail "no token or endpoint in: $enabled"
scimctl token list "$tenant" | grep -qF "$t1" && fail "token list shows the token"
c1=$(scimctl token list "$tenant" --json | py 'd["credentials"][0]["id"]')

step "2. SCIM calls with it succeed"
expect "create a user" 201 "$(scim_status "$t1" POST /Users '{"userName":"first@example.com"}')"
user=$(curl -s -H "Authorization: Bearer $t1" "$base/$tenant/scim/v2/Users?filter=userName%20eq%20%22first@example.com%22" |
  py 'd["Resources"][0]["id"]')

step "3. a second token works"
t2=$(scimctl token create "$tenant" --description second --json | json_field token)
expect "second token" 200 "$(scim_status "$t2" GET "/Users?count=0")"

step "4. a third is refused, saying what to do"
if refusal=$(scimctl token create "$tenant" 2>&1); then fail "a third token was issued"; fi
grep -q "delete one" <<<"$refusal" || fail "unhelpful refusal: $refusal"

step "5. disable the first: 401, while the second still works"
scimctl token disable "$tenant" "$c1" >/dev/null
expect "first token, disabled" 401 "$(scim_status "$t1" GET "/Users?count=0")"
expect "second token" 200 "$(scim_status "$t2" GET "/Users?count=0")"

step "6. re-enable the first: it works again"
scimctl token enable "$tenant" "$c1" >/dev/null
expect "first token, enabled again" 200 "$(scim_status "$t1" GET "/Users?count=0")"

step "7. delete the first: 401"
scimctl token delete "$tenant" "$c1" >/dev/null
expect "first token, deleted" 401 "$(scim_status "$t1" GET "/Users?count=0")"

step "8. rotate: a new token, finish, and the old one is gone"
expect "a write with the second token" 201 "$(scim_status "$t2" POST /Users '{"userName":"second@example.com"}')"
c2=$(scimctl token list "$tenant" --json | py 'd["credentials"][0]["id"]')
rotation=$(scimctl token rotate "$tenant")
t3=$(sed -n 's/^token //p' <<<"$rotation")
c3=$(sed -n 's/^credential //p' <<<"$rotation")
if scimctl token rotate "$tenant" --finish >/dev/null 2>&1; then
  fail "finished while the IdP still used the old token"
fi
expect "a write with the new token" 201 "$(scim_status "$t3" POST /Users '{"userName":"third@example.com"}')"
scimctl token rotate "$tenant" --finish >/dev/null
expect "old token after rotation" 401 "$(scim_status "$t2" GET "/Users?count=0")"
expect "credentials left" "$c3" "$(scimctl token list "$tenant" --json | py '",".join(c["id"] for c in d["credentials"])')"

step "9. audit shows which credential made each write"
writers=$(scimctl audit "$tenant" --json |
  py '" ".join(e["credentialId"] for e in d["events"] if e["resourceType"] == "User")')
expect "writers of the three users, newest first" "$c3 $c2 $c1" "$writers"

step "10. disable provisioning: every token fails, the list is empty"
scimctl provisioning disable "$tenant" >/dev/null
expect "new token after disable" 401 "$(scim_status "$t3" GET "/Users?count=0")"
expect "credentials after disable" 0 "$(scimctl token list "$tenant" --json | py 'len(d["credentials"])')"

step "11. re-enable: a new token works, the old ones still fail, the users are still there"
t4=$(scimctl provisioning enable "$tenant" --json | json_field token)
expect "user kept while provisioning was off" 200 "$(scim_status "$t4" GET "/Users/$user")"
for old in "$t1" "$t2" "$t3"; do
  expect "an old token" 401 "$(scim_status "$old" GET "/Users?count=0")"
done

scimctl tenant delete "$tenant" --yes >/dev/null 2>&1
step "all 11 steps passed"
