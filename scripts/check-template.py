"""Fails when the table in template.yaml differs from the one the local stack creates.

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


if __name__ == "__main__":
    main()
