"""Fails when template.yaml drifts from the code: the table differs from the one the local stack
creates, a function lacks a DynamoDB permission its code needs (or has one it does not), the
admin routes are not AWS_IAM-only while the SCIM routes stay open to bearer tokens, or the alarms
(docs/operations.md) miss a function or an index, or notify other than through AlarmTopicArn.

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


# What each alarm's actions must be: the AlarmTopicArn parameter, when it is set.
TOPIC_ACTIONS = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}


def watched(alarms, namespace, metric_name):
    """The dimensions (name -> value) of every NAMESPACE/METRIC_NAME metric the alarms read."""
    return [
        {d["Name"]: d.get("Value") for d in query["MetricStat"]["Metric"].get("Dimensions", [])}
        for props in alarms.values()
        for query in props.get("Metrics", [])
        if "MetricStat" in query
        and query["MetricStat"]["Metric"]["Namespace"] == namespace
        and query["MetricStat"]["Metric"]["MetricName"] == metric_name
    ]


def check_alarms(template, table_props):
    resources = template["Resources"]
    alarms = {n: r["Properties"] for n, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    problems = []
    if not watched(alarms, "AWS/ApiGateway", "5xx"):
        problems.append("no alarm on the HTTP API's 5xx responses")
    functions = {n for n, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    alarmed = {json.dumps(dims.get("FunctionName")) for dims in watched(alarms, "AWS/Lambda", "Errors")}
    if alarmed != {json.dumps({"Ref": f}) for f in functions}:
        problems.append(f"Lambda Errors alarms cover {sorted(alarmed)}, functions are {sorted(functions)}")
    indexes = {i["IndexName"] for i in table_props.get("GlobalSecondaryIndexes", [])}
    for metric_name in ("ReadThrottleEvents", "WriteThrottleEvents"):
        dims = watched(alarms, "AWS/DynamoDB", metric_name)
        if {"TableName": {"Ref": "Table"}} not in dims:
            problems.append(f"no alarm on the table's {metric_name}")
        covered = {d.get("GlobalSecondaryIndexName") for d in dims} - {None}
        if covered != indexes:
            problems.append(f"{metric_name} alarms cover indexes {sorted(covered)}, the table has {sorted(indexes)}")
    for name, props in alarms.items():
        for actions in ("AlarmActions", "OKActions"):
            if json.loads(json.dumps(props.get(actions))) != TOPIC_ACTIONS:
                problems.append(f"{name}.{actions} must be {TOPIC_ACTIONS}")
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
    problems = check_alarms(template, tables[0]["Properties"])
    if problems:
        sys.exit("template.yaml alarms:\n  " + "\n  ".join(problems))
    print("alarms on API 5xx, table and index throttles, and every function's errors")


if __name__ == "__main__":
    main()
