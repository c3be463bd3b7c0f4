"""Fails when template.yaml drifts from the code: the table differs from the one the local stack
creates, a function lacks a DynamoDB permission its code needs (or has one it does not), or the
admin routes are not AWS_IAM-only while the SCIM routes stay open to bearer tokens.

usage: check-template.py TEMPLATE DEFINITION_JSON   (the JSON comes from `scimctl table definition`)
"""

import json
import sys

from cfnlint.decode import decode


def canonical(props):
    by_name = lambda items, key: sorted(items or [], key=lambda i: i[key])
    return {
        "BillingMode": props.get("BillingMode"),
        "KeySchema": props.get("KeySchema"),
        "AttributeDefinitions": by_name(props.get("AttributeDefinitions"), "AttributeName"),
        "GlobalSecondaryIndexes": by_name(props.get("GlobalSecondaryIndexes"), "IndexName"),
        "TimeToLiveSpecification": props.get("TimeToLiveSpecification"),
    }


# What each binary's code calls (transactions need the per-item actions they contain).
# Every function authenticates (GetItem) and records a credential's last use (UpdateItem).
NEEDED = {
    # CRUD, lists (counter and bookmark reads, membership filters), transactions of
    # Put/Update/Delete/ConditionCheck, audit and bookmark PutItem.
    "users": {"GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "DeleteItem",
              "ConditionCheckItem"},
    # As users, plus the BatchGetItem pre-check of large member lists.
    "groups": {"GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "DeleteItem",
               "ConditionCheckItem"},
    # The root /.search (reads, bookmark and cursor-key PutItem), plus the last-use update.
    "discovery": {"GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem"},
    # Tenants, credentials (transactions of Update/Put/Delete), audit, tenant delete in batches.
    "admin": {"GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"},
}


def check_functions(template):
    problems = []
    functions = {
        r["Metadata"]["BuildProperties"]["Binary"]: r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function"
    }
    if set(functions) != set(NEEDED):
        problems.append(f"functions {sorted(functions)} != {sorted(NEEDED)}")
    for binary, function in functions.items():
        props = function["Properties"]
        allowed = {
            action.removeprefix("dynamodb:")
            for policy in props.get("Policies", [])
            for statement in policy.get("Statement", [])
            for action in statement.get("Action", [])
        }
        if allowed != NEEDED.get(binary, set()):
            problems.append(f"{binary}: allows {sorted(allowed)}, needs {sorted(NEEDED.get(binary, []))}")
        for name, event in props.get("Events", {}).items():
            path = event["Properties"].get("Path", "")
            authorizer = event["Properties"].get("Auth", {}).get("Authorizer")
            if binary == "admin" and (authorizer != "AWS_IAM" or not path.startswith("/admin/")):
                problems.append(f"admin route {name} ({path}) must be under /admin/ with AWS_IAM")
            if binary != "admin" and authorizer is not None:
                problems.append(f"SCIM route {binary}.{name} must authenticate bearer tokens only")
    return problems


def main():
    template, errors = decode(sys.argv[1])
    if errors:
        sys.exit(f"cannot read {sys.argv[1]}: {errors}")
    tables = [r for r in template["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table"]
    if len(tables) != 1:
        sys.exit(f"expected one AWS::DynamoDB::Table in {sys.argv[1]}, found {len(tables)}")
    deployed = json.loads(json.dumps(canonical(tables[0]["Properties"])))
    local = canonical(json.load(open(sys.argv[2])))
    if deployed != local:
        print("template.yaml:", json.dumps(deployed, indent=1, sort_keys=True))
        print("src/store/table.rs:", json.dumps(local, indent=1, sort_keys=True))
        sys.exit("the table in template.yaml differs from the table the local stack creates")
    print("template table == local table")
    problems = check_functions(template)
    if problems:
        sys.exit("template.yaml functions drift from the code:\n  " + "\n  ".join(problems))
    print("function permissions and route authorization as the code needs")


if __name__ == "__main__":
    main()
