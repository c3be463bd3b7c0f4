"""Fails when template.yaml drifts from the code: the table differs from the one the local stack
creates, a function lacks a permission its code needs (or has one it does not, or one on more
than its own resources), the admin routes are not AWS_IAM-only while the SCIM routes stay open to
bearer tokens, the change-event stream (issue 11: table stream, mapping, dead-letter queue, bus,
optional HTTPS receiver) is not set up as docs/events.md says, or the alarms (docs/operations.md)
miss a function, an index, a queue or the stream's lag, or notify other than through AlarmTopicArn.
It also fails when a guard of issue 15 is gone: the admin routes' own throttle (exactly the routes
the admin function declares), every function's reserved concurrency (a parameter, -1 for none),
the API's access logs (AccessLogs; no header, query string or override logged), or the table's
deletion protection.

usage: check-template.py TEMPLATE DEFINITION_JSON   (the JSON comes from `scimctl table definition`)
"""

import json
import pathlib
import re
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
        "StreamSpecification": props.get("StreamSpecification"),
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
    # Publishes the stream records Lambda hands it: no table action.
    "events": set(),
}
# The table actions above are allowed on the table and its indexes, nothing else.
TABLE_RESOURCES = [{"Fn::GetAtt": ["Table", "Arn"]}, {"Fn::Sub": "${Table.Arn}/index/*"}]

# The bus the change events go to: the stack's own, or the one EventBusName names.
BUS_NAME = {"Fn::If": ["CreateBus", {"Ref": "EventBus"}, {"Ref": "EventBusName"}]}
BUS_ARN = {"Fn::If": ["CreateBus", {"Fn::GetAtt": ["EventBus", "Arn"]}, {
    "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName}"}]}
STREAM_ARN = {"Fn::GetAtt": ["Table", "StreamArn"]}
EVENTS_DLQ_ARN = {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}
# Every other action of a function, on the resources it may touch: the events function's stream
# mapping polls the stream and dead-letters with the function's role, and the code publishes.
OTHER_GRANTS = {
    "events": {
        "dynamodb:DescribeStream": [STREAM_ARN],
        "dynamodb:GetRecords": [STREAM_ARN],
        "dynamodb:GetShardIterator": [STREAM_ARN],
        "dynamodb:ListStreams": [{"Fn::Sub": "${Table.Arn}/stream/*"}],
        "events:PutEvents": [BUS_ARN],
        "sqs:SendMessage": [EVENTS_DLQ_ARN],
    },
}


def plain(value):
    """VALUE without cfn-lint's node classes, to compare it with == and print it."""
    return json.loads(json.dumps(value))


def as_list(value):
    return value if isinstance(value, list) else [value]


def grants(props):
    """action -> sorted resources (JSON) of the function's policy statements, or an error."""
    allowed = {}
    for policy in props.get("Policies", []):
        if not isinstance(policy, dict) or set(policy) != {"Statement"}:
            return f"policy {plain(policy)} is not an inline statement list (a managed policy?)"
        for statement in policy["Statement"]:
            if statement.get("Effect") != "Allow" or "Condition" in statement:
                return f"statement {plain(statement)} is not a plain Allow"
            for action in as_list(statement.get("Action", [])):
                allowed.setdefault(action, set()).update(
                    json.dumps(plain(r), sort_keys=True) for r in as_list(statement.get("Resource", [])))
    return {action: sorted(resources) for action, resources in allowed.items()}


def expected_grants(binary):
    table = {f"dynamodb:{action}": TABLE_RESOURCES for action in NEEDED.get(binary, set())}
    return {
        action: sorted(json.dumps(r, sort_keys=True) for r in resources)
        for action, resources in {**table, **OTHER_GRANTS.get(binary, {})}.items()
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
        allowed, needed = grants(props), expected_grants(binary)
        if isinstance(allowed, str):
            problems.append(f"{binary}: {allowed}")
        elif allowed != needed:
            for action in sorted(set(allowed) | set(needed)):
                if allowed.get(action) != needed.get(action):
                    problems.append(f"{binary}: {action} allowed on {allowed.get(action)}, needed on {needed.get(action)}")
        for name, event in props.get("Events", {}).items():
            if event["Type"] != "HttpApi":
                # A SAM DynamoDB (or other pull) event attaches a broad managed policy.
                problems.append(f"{binary}.{name}: only HttpApi events; a stream gets its own mapping")
                continue
            path = event["Properties"].get("Path", "")
            authorizer = event["Properties"].get("Auth", {}).get("Authorizer")
            if binary == "admin" and (authorizer != "AWS_IAM" or not path.startswith("/admin/")):
                problems.append(f"admin route {name} ({path}) must be under /admin/ with AWS_IAM")
            if binary != "admin" and authorizer is not None:
                problems.append(f"SCIM route {binary}.{name} must authenticate bearer tokens only")
    if "events" in functions and functions["events"]["Properties"].get("Events"):
        problems.append("the events function is invoked by its stream mapping only, not by the API")
    return problems


def item_kind(name):
    """The `kind` attribute's name and the value src/store/keys.rs stores for ItemKind::NAME."""
    keys = (pathlib.Path(__file__).resolve().parent.parent / "src/store/keys.rs").read_text()
    attribute = re.search(r'pub const KIND: &str = "(\w+)";', keys)
    value = re.search(rf'ItemKind::{name} => "(\w+)"', keys)
    if not attribute or not value:
        sys.exit(f"cannot find the kind attribute or ItemKind::{name} in src/store/keys.rs")
    return attribute.group(1), value.group(1)


# The stream mapping (docs/events.md, "Failure handling"): only new event items, in order per
# shard, failed records reported one by one, a failing batch halved, retries bounded in count and
# age, then the batch's range dead-lettered.
MAPPING = {
    "EventSourceArn": STREAM_ARN,
    "StartingPosition": "TRIM_HORIZON",
    "BatchSize": 100,
    "MaximumBatchingWindowInSeconds": 1,
    "ParallelizationFactor": 1,
    "FunctionResponseTypes": ["ReportBatchItemFailures"],
    "BisectBatchOnFunctionError": True,
    "MaximumRetryAttempts": 5,
    "MaximumRecordAgeInSeconds": 86400,
    "DestinationConfig": {"OnFailure": {"Destination": EVENTS_DLQ_ARN}},
}
DEAD_LETTER_QUEUE = {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 1209600}
ENVIRONMENT = {
    "Globals": {"EVENTS_AUDIENCE": {"Ref": "EventsAudience"},
                "EVENT_RETENTION_DAYS": {"Ref": "EventRetentionDays"}},
    "events": {"EVENT_BUS_NAME": BUS_NAME, "EVENT_SOURCE": {"Ref": "EventSource"}},
}


def check_events(template, table_props):
    resources = template["Resources"]
    problems = []
    if plain(table_props.get("StreamSpecification")) != {"StreamViewType": "NEW_AND_OLD_IMAGES"}:
        problems.append("the table's stream must carry NEW_AND_OLD_IMAGES")
    functions = {
        r["Metadata"]["BuildProperties"]["Binary"]: name
        for name, r in resources.items()
        if r["Type"] == "AWS::Serverless::Function"
    }
    mappings = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    if len(mappings) != 1 or plain(mappings[0].get("FunctionName")) != {"Ref": functions.get("events")}:
        problems.append("expected one event source mapping, of the events function")
    for mapping in mappings:
        for key, value in MAPPING.items():
            if plain(mapping.get(key)) != value:
                problems.append(f"stream mapping {key} is {plain(mapping.get(key))}, must be {value}")
        attribute, event = item_kind("Event")
        filters = [json.loads(f["Pattern"]) for f in mapping.get("FilterCriteria", {}).get("Filters", [])]
        wanted = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {attribute: {"S": [event]}}}}
        if filters != [wanted]:
            problems.append(f"stream mapping filters {filters}, must be [{wanted}]")
    queue = resources.get("EventsDeadLetterQueue", {})
    if queue.get("Type") != "AWS::SQS::Queue" or plain(queue.get("Properties")) != DEAD_LETTER_QUEUE:
        problems.append(f"EventsDeadLetterQueue must be an AWS::SQS::Queue with {DEAD_LETTER_QUEUE}")
    bus = resources.get("EventBus", {})
    if bus.get("Type") != "AWS::Events::EventBus" or bus.get("Condition") != "CreateBus":
        problems.append("EventBus must be an AWS::Events::EventBus under the CreateBus condition")
    variables = {
        "Globals": template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}),
        "events": resources.get(functions.get("events"), {}).get("Properties", {})
        .get("Environment", {}).get("Variables", {}),
    }
    for where, wanted in ENVIRONMENT.items():
        for name, value in wanted.items():
            if plain(variables[where].get(name)) != value:
                problems.append(f"{where} environment {name} must be {value}")
    problems += check_receiver(resources)
    return problems


def check_receiver(resources):
    """The optional HTTPS receiver: all of it under HasReceiver, the SET alone POSTed to it by a
    role that may invoke that destination only, and what it refuses dead-lettered."""
    kinds = ("AWS::Events::Connection", "AWS::Events::ApiDestination", "AWS::Events::Rule")
    receiver = {n: r for n, r in resources.items() if r["Type"] in kinds or n.startswith("Receiver")}
    if not receiver:
        return []
    problems = [f"{n} must be under the HasReceiver condition"
                for n, r in receiver.items() if r.get("Condition") != "HasReceiver"]
    destinations = [n for n, r in receiver.items() if r["Type"] == "AWS::Events::ApiDestination"]
    rules = [r["Properties"] for r in receiver.values() if r["Type"] == "AWS::Events::Rule"]
    if len(destinations) != 1 or len(rules) != 1:
        return problems + ["the receiver is one API destination and one rule"]
    destination = {"Fn::GetAtt": [destinations[0], "Arn"]}
    rule = plain(rules[0])
    if rule.get("EventBusName") != BUS_NAME or rule.get("EventPattern") != {"source": [{"Ref": "EventSource"}]}:
        problems.append(f"the receiver rule must match source EventSource on {BUS_NAME}")
    targets = rule.get("Targets", [])
    if len(targets) != 1 or targets[0].get("Arn") != destination or targets[0].get("InputPath") != "$.detail":
        problems.append(f"the receiver rule must send $.detail to {destination} alone")
        return problems
    if "Arn" not in targets[0].get("DeadLetterConfig", {}):
        problems.append("the receiver rule's target needs a dead-letter queue")
    role = targets[0].get("RoleArn", {}).get("Fn::GetAtt", [""])[0]
    statements = [
        statement
        for policy in plain(resources.get(role, {}).get("Properties", {}).get("Policies", []))
        for statement in policy["PolicyDocument"]["Statement"]
    ]
    if statements != [{"Effect": "Allow", "Action": ["events:InvokeApiDestination"], "Resource": [destination]}]:
        problems.append(f"the receiver role {role} may only events:InvokeApiDestination {destination}")
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
    # A stream that falls behind, and a dead-letter queue that holds anything.
    mapped = {json.dumps(plain(r["Properties"].get("FunctionName")))
              for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"}
    lagging = {json.dumps(plain(dims.get("FunctionName"))) for dims in watched(alarms, "AWS/Lambda", "IteratorAge")}
    if lagging != mapped:
        problems.append(f"Lambda IteratorAge alarms cover {sorted(lagging)}, stream functions are {sorted(mapped)}")
    queues = {json.dumps({"Fn::GetAtt": [n, "QueueName"]}) for n, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}
    waiting = {json.dumps(plain(dims.get("QueueName")))
               for dims in watched(alarms, "AWS/SQS", "ApproximateNumberOfMessagesVisible")}
    if waiting != queues:
        problems.append(f"SQS ApproximateNumberOfMessagesVisible alarms cover {sorted(waiting)}, queues are {sorted(queues)}")
    indexes = {i["IndexName"] for i in table_props.get("GlobalSecondaryIndexes", [])}
    for metric_name in ("ReadThrottleEvents", "WriteThrottleEvents"):
        dims = watched(alarms, "AWS/DynamoDB", metric_name)
        if {"TableName": {"Ref": "Table"}} not in dims:
            problems.append(f"no alarm on the table's {metric_name}")
        covered = {d.get("GlobalSecondaryIndexName") for d in dims} - {None}
        if covered != indexes:
            problems.append(f"{metric_name} alarms cover indexes {sorted(covered)}, the table has {sorted(indexes)}")
    for name, props in alarms.items():
        # A metric an alarm reads but leaves out of its expression watches nothing.
        expressions = " ".join(q.get("Expression", "") for q in props.get("Metrics", []) if q.get("ReturnData", True))
        for query in props.get("Metrics", []):
            if query.get("ReturnData") is False and not re.search(rf"\b{query['Id']}\b", expressions):
                problems.append(f"{name}: metric {query['Id']} is not in the alarm's expression")
        for actions in ("AlarmActions", "OKActions"):
            if json.loads(json.dumps(props.get(actions))) != TOPIC_ACTIONS:
                problems.append(f"{name}.{actions} must be {TOPIC_ACTIONS}")
    return problems


def ref(name):
    return {"Ref": name}


NO_VALUE = ref("AWS::NoValue")
# Each binary's reserved concurrency parameter (issue 15): a cap, so that a flood on one function
# cannot take the account's concurrency, with -1 for none (an account with a quota of 10).
RESERVED_CONCURRENCY = {
    "users": "ScimReservedConcurrency",
    "groups": "ScimReservedConcurrency",
    "discovery": "ScimReservedConcurrency",
    "admin": "AdminReservedConcurrency",
    "events": "EventsReservedConcurrency",
}
# Lambda keeps 100 of an account's concurrency unreserved; the default quota is 1,000.
DEFAULT_QUOTA, UNRESERVED = 1000, 100
# What each access log line must carry, and what it must never: headers (Authorization), query
# strings (SCIM filters), request or response overrides.
ACCESS_LOG_VARIABLES = {
    "$context.requestId", "$context.identity.sourceIp", "$context.requestTime", "$context.httpMethod",
    "$context.routeKey", "$context.path", "$context.status", "$context.protocol",
    "$context.responseLength", "$context.integrationLatency",
}
ACCESS_LOG_FORBIDDEN = re.compile(r"header|querystring|override|\$request\.|\$input|\$method", re.IGNORECASE)


def route_key(event):
    """The route key API Gateway gives a SAM HttpApi event: METHOD (upper case) PATH, or $default."""
    path = event["Properties"].get("Path", "$default")
    return "$default" if path == "$default" else f"{event['Properties'].get('Method', 'ANY').upper()} {path}"


def check_parameter(parameters, name, problems, **wanted):
    """NAME is a parameter whose attributes (Type, Default, MinValue...) are those WANTED."""
    parameter = plain(parameters.get(name))
    if not isinstance(parameter, dict):
        problems.append(f"no {name} parameter")
        return None
    for key, value in wanted.items():
        if str(parameter.get(key)).lower() != str(value).lower():
            problems.append(f"parameter {name}.{key} is {parameter.get(key)}, must be {value}")
    return parameter


def check_api_throttle(template, functions, problems):
    """The admin routes have their own throttle, and the SCIM routes keep the stage-wide one."""
    parameters = template.get("Parameters", {})
    api = template["Resources"].get("Api", {}).get("Properties", {})
    stage_default = {"ThrottlingBurstLimit": ref("ThrottlingBurstLimit"), "ThrottlingRateLimit": ref("ThrottlingRateLimit")}
    if plain(api.get("DefaultRouteSettings")) != stage_default:
        problems.append(f"Api.DefaultRouteSettings must be {stage_default}")
    admin_throttle = {"ThrottlingBurstLimit": ref("AdminThrottlingBurstLimit"),
                      "ThrottlingRateLimit": ref("AdminThrottlingRateLimit")}
    for name in admin_throttle:
        check_parameter(parameters, f"Admin{name}", problems, Type="Number", MinValue=1)
    admin_routes = {route_key(event) for event in functions.get("admin", {}).get("Properties", {})
                    .get("Events", {}).values() if event.get("Type") == "HttpApi"}
    settings = plain(api.get("RouteSettings") or {})
    if not isinstance(settings, dict) or set(settings) != admin_routes:
        keys = sorted(settings) if isinstance(settings, dict) else settings
        problems.append(f"Api.RouteSettings keys {keys} must be the admin route keys {sorted(admin_routes)} "
                        "(a key that matches no route fails the deploy; a missing one leaves admin on the SCIM throttle)")
        return
    for key, value in settings.items():
        if value != admin_throttle:
            problems.append(f"Api.RouteSettings[{key!r}] is {value}, must be {admin_throttle}")


def check_reserved_concurrency(template, functions, problems):
    parameters = template.get("Parameters", {})
    conditions = plain(template.get("Conditions", {}))
    reserved = 0
    for binary, function in sorted(functions.items()):
        name = RESERVED_CONCURRENCY.get(binary)
        if name is None:
            problems.append(f"{binary}: no reserved concurrency parameter in RESERVED_CONCURRENCY")
            continue
        value = plain(function["Properties"].get("ReservedConcurrentExecutions"))
        condition = value.get("Fn::If", [None])[0] if isinstance(value, dict) else None
        if value != {"Fn::If": [condition, ref(name), NO_VALUE]}:
            problems.append(f"{binary}: ReservedConcurrentExecutions is {value}, must be "
                            f"!If [<condition>, !Ref {name}, !Ref AWS::NoValue]")
            continue
        unless_none = [{"Fn::Not": [{"Fn::Equals": [ref(name), minus_one]}]} for minus_one in ("-1", -1)]
        if conditions.get(condition) not in unless_none:
            problems.append(f"{binary}: condition {condition} is {conditions.get(condition)}, must be "
                            f"!Not [!Equals [!Ref {name}, \"-1\"]] (-1: unreserved)")
    for name in sorted(set(RESERVED_CONCURRENCY.values())):
        parameter = check_parameter(parameters, name, problems, Type="Number", MinValue=-1)
        if parameter is None:
            continue
        default = int(parameter.get("Default", 0))
        if default < 1:
            problems.append(f"parameter {name} must default to a reservation (at least 1), not {default}")
        if "-1" not in parameter.get("Description", ""):
            problems.append(f"parameter {name}'s Description must say what -1 does")
        reserved += default * sum(1 for b in functions if RESERVED_CONCURRENCY.get(b) == name)
    if reserved > DEFAULT_QUOTA - UNRESERVED:
        problems.append(f"the default reservations add up to {reserved}: more than an account's "
                        f"default quota ({DEFAULT_QUOTA}) less the {UNRESERVED} Lambda keeps unreserved")


def check_access_logs(template, problems):
    parameters = template.get("Parameters", {})
    resources = template["Resources"]
    check_parameter(parameters, "AccessLogs", problems, Type="String", Default="true")
    allowed = plain(parameters.get("AccessLogs", {}).get("AllowedValues"))
    if sorted(str(v).lower() for v in allowed or []) != ["false", "true"]:
        problems.append(f"parameter AccessLogs.AllowedValues is {allowed}, must be [\"true\", \"false\"]")
    settings = plain(resources.get("Api", {}).get("Properties", {}).get("AccessLogSettings"))
    branches = settings.get("Fn::If") if isinstance(settings, dict) else None
    if not isinstance(branches, list) or len(branches) != 3 or branches[2] != NO_VALUE:
        problems.append(f"Api.AccessLogSettings is {settings}, must be !If [<condition>, {{...}}, !Ref AWS::NoValue]")
        return
    condition, on, _ = branches
    if plain(template.get("Conditions", {}).get(condition)) != {"Fn::Equals": [ref("AccessLogs"), "true"]}:
        problems.append(f"condition {condition} must be !Equals [!Ref AccessLogs, \"true\"]")
    destination = on.get("DestinationArn") if isinstance(on, dict) else None
    group = destination.get("Fn::GetAtt", [None])[0] if isinstance(destination, dict) else None
    log_group = resources.get(group, {}) if isinstance(group, str) else {}
    if destination != {"Fn::GetAtt": [group, "Arn"]} or log_group.get("Type") != "AWS::Logs::LogGroup":
        problems.append(f"Api access logs go to {destination}, must be a log group of the stack (!GetAtt <group>.Arn)")
        return
    if log_group.get("Condition") != condition:
        problems.append(f"the access log group {group} must be under the {condition} condition")
    if plain(log_group.get("Properties", {}).get("RetentionInDays")) != ref("LogRetentionInDays"):
        problems.append(f"the access log group {group} must keep its logs LogRetentionInDays")
    text = on.get("Format", "")
    try:
        line = json.loads(text)
    except (TypeError, ValueError) as error:
        problems.append(f"the access log Format is not one JSON object ({error}): {text!r}")
        return
    if "\n" in text or not isinstance(line, dict):
        problems.append("the access log Format must be one JSON object on one line")
        return
    logged = set(str(v) for v in line.values())
    if not ACCESS_LOG_VARIABLES <= logged:
        problems.append(f"the access log lacks {sorted(ACCESS_LOG_VARIABLES - logged)}")
    for value in sorted(logged):
        if ACCESS_LOG_FORBIDDEN.search(value) or not re.fullmatch(r"\$context\.[A-Za-z.]+", value):
            problems.append(f"the access log must not log {value!r}: only $context variables, no header, "
                            "query string or override")


def check_guards(template, table_props):
    """Issue 15: the admin throttle, reserved concurrency, access logs, table deletion protection."""
    problems = []
    functions = {
        r["Metadata"]["BuildProperties"]["Binary"]: r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function"
    }
    check_api_throttle(template, functions, problems)
    check_reserved_concurrency(template, functions, problems)
    check_access_logs(template, problems)
    # Not in canonical(): the local table has no such setting, the deployed one must.
    if table_props.get("DeletionProtectionEnabled") is not True:
        problems.append("the table needs DeletionProtectionEnabled: true")
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
    problems = check_events(template, tables[0]["Properties"])
    if problems:
        sys.exit("template.yaml change-event stream:\n  " + "\n  ".join(problems))
    print("change events: table stream, filtered mapping with bounded retries and dead letters, bus, receiver")
    problems = check_alarms(template, tables[0]["Properties"])
    if problems:
        sys.exit("template.yaml alarms:\n  " + "\n  ".join(problems))
    print("alarms on API 5xx, table and index throttles, every function's errors, the stream's lag and dead letters")
    problems = check_guards(template, tables[0]["Properties"])
    if problems:
        sys.exit("template.yaml guards (issue 15):\n  " + "\n  ".join(problems))
    print("admin routes throttled apart, reserved concurrency on every function, access logs without secrets, "
          "table deletion protection")


if __name__ == "__main__":
    main()
