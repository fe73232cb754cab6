"""AWS's documented limits the scale model checks, each with the words it rests on.

Sources (AWS's developer guides, as published in the awsdocs repositories on GitHub and
on docs.aws.amazon.com; defaults of a new account in us-east-1; most are soft quotas
that AWS raises on request):

- DynamoDB, "Best practices for designing and using partition keys effectively": "DynamoDB
  automatically supports your access patterns ... as long as the traffic against a given
  partition key does not exceed 3000 read capacity units or 1000 write capacity units";
  "throttling can occur if a single partition receives more than 3,000 RCUs or 1,000
  WCUs". A global secondary index has partitions of its own, under the same limits, and
  its writes propagate from the table's: "For a table write to succeed, the provisioned
  throughput settings for the table and all of its global secondary indexes must have
  enough write capacity to accommodate the write. Otherwise, the write to the table is
  throttled" ("Provisioned throughput considerations for global secondary indexes"):
  a hot partition of the ``pending`` or ``worklist`` index throttles the commits that
  feed it, so the model checks each index partition as it checks the table's.
- DynamoDB, "Service, account, and table quotas": per table, on-demand, "40,000 read
  request units and 40,000 write request units"; "These table-level quotas apply to the
  sum of a table's throughput together with the throughput of all of its global
  secondary indexes".
- DynamoDB, "Transaction conflict handling": "A transactional conflict can occur during
  concurrent item-level requests on an item within a transaction ... An item within a
  TransactWriteItems request is part of another ongoing TransactWriteItems request";
  "Multiple transactions updating the same items simultaneously can cause conflicts that
  cancel the transactions". A cancelled commit is retried by the runtime (bounded by
  COMMIT_RACE_SECONDS, then 409), so an item every commit of many instances writes is
  limited by how many transactions on it overlap, long before its 1,000 WCU.
- Lambda, "Lambda quotas": "Concurrent executions | 1,000"; an SQS event source
  mapping's ScalingConfig.MaximumConcurrency, "Minimum value of 2. Maximum value of
  1000" (chalicelib/runtime/wiring.py), is the most invocations its queue's function
  runs at once.
- API Gateway, "Amazon API Gateway quotas": "Throttle quota per Region across HTTP APIs,
  REST APIs, WebSocket APIs, and WebSocket callback APIs | 10,000 requests per second
  (RPS) with an additional burst capacity ... of 5,000 requests" (the websocket pushes,
  post_to_connection, count against it); "New connections per second per account
  (across all WebSocket APIs) per Region | 500".
- SNS, AWS General Reference, "Amazon SNS endpoints and quotas": "Publish API throttling
  per account | US East (N. Virginia) Region | 30,000 messages per second" (US West
  (Oregon) and Europe (Ireland) 9,000; eight more Regions 1,500; all others 300);
  "Amazon SNS features": "Standard topics support a nearly unlimited number of messages
  per second" (per topic: the account's Publish quota is what binds).
- SQS standard queues: "a nearly unlimited number of API calls per second, per API
  action (SendMessage, ReceiveMessage, or DeleteMessage)" (SQS developer guide, "Amazon
  SQS Standard queues"): never the limit here.
- Step Functions, "Quotas": Standard ``StateTransition`` in US East (N. Virginia), US
  West (Oregon) and Europe (Ireland): bucket 5,000, "Refill rate per second" 1,500 (all
  other Regions 800 / 500); ``StartExecution``: bucket 1,300, refill 300 per second
  (others 800 / 150); "Maximum open executions per account | 1,000,000 executions per
  AWS Region" (the developer guide as its awsdocs repository last published it: AWS
  says it "may increase both the bucket size and refill rate at any time").
"""

from __future__ import annotations

PARTITION_WCU = 1_000  # per partition key value, table or index, per second
PARTITION_RCU = 3_000
TABLE_WRU = 40_000  # per on-demand table, its indexes included, per second
TABLE_RRU = 40_000
LAMBDA_CONCURRENCY = 1_000  # per account and Region
APIGW_RPS = 10_000  # REST + websocket + callbacks (post_to_connection), per account
WEBSOCKET_CONNECTS = 500  # new websocket connections per second, per account
SNS_PUBLISH = 30_000  # Publish per second, per account, us-east-1
SFN_TRANSITIONS = 1_500  # Standard state transitions per second (refill), us-east-1
SFN_STARTS = 300  # StartExecution per second (refill), us-east-1
SFN_OPEN = 1_000_000  # open Standard executions per account and Region

# How long one commit's transaction holds the items it writes (prepare + commit: two
# underlying writes of each item, "one to prepare the transaction and one to commit
# the transaction"), and the share of commits colliding on one item the model accepts
# before it names the item a limit: a colliding commit is cancelled and retried.
TRANSACTION_SECONDS = 0.025
COLLISION_SHARE = 0.10
TRANSACTIONS_PER_ITEM = COLLISION_SHARE / TRANSACTION_SECONDS  # 4 per second
