# DynamoDB tables. The source of truth for names, keys, TTL attributes and indexes is shared/resources.py.
# All keys are strings; every table is on-demand, encrypted with the deployment key and has PITR.

locals {
  tables = {
    tracking = {
      name      = "${var.name_prefix}-wxcc-tracking"
      hash_key  = "pk"
      range_key = null
      ttl       = "ttl" # tracking rows expire after CALLPIPE_RETENTION_TRACKING_DAYS (privacy: tombstones never do)
      # privacy: a customer's calls by the HMAC of the number (shared/privacy/keys.py), for erasure
      indexes = [{ name = "by-customer", hash_key = "customer_hash", range_key = null }]
    }
    journeys = {
      name      = "${var.name_prefix}-journeys"
      hash_key  = "pk"
      range_key = "sk"
      ttl       = "ttl" # idempotency keys, journey-creation rate counters and DLQ replay jobs expire; journeys never do
      indexes = [
        { name = "by-state", hash_key = "state", range_key = "created_at" },
        # privacy: a call's JOB#{task_id} item in every journey, for erasure (keys only: counter updates never write it)
        { name = "by-sk", hash_key = "sk", range_key = null, projection = "KEYS_ONLY" },
      ]
    }
    coordination = {
      name      = "${var.name_prefix}-coordination"
      hash_key  = "pk"
      range_key = null
      ttl       = "ttl"
      indexes   = []
    }
    license = {
      # license (issue 14): per org the active key, activation history, monthly usage, reservations and held calls
      # (shared/license/table.py). Only reservations expire (`ttl`, 400 days); usage and history are billing records.
      name      = "${var.name_prefix}-license"
      hash_key  = "pk"
      range_key = "sk"
      ttl       = "ttl"
      indexes   = []
    }
    analytics = {
      name      = "${var.name_prefix}-analytics"
      hash_key  = "pk"
      range_key = "sk"
      ttl       = null
      # Per-call records and exact per-org/day/dimension aggregates (shared/analytics/); an org's calls newest first.
      indexes = [
        { name = "by-org-time", hash_key = "list_pk", range_key = "list_sk" },
        # analytics: an org's calls of one queue, agent or customer sentiment, newest first (filtered lists).
        { name = "by-org-queue", hash_key = "queue_pk", range_key = "list_sk" },
        { name = "by-org-agent", hash_key = "agent_pk", range_key = "list_sk" },
        { name = "by-org-sentiment", hash_key = "sentiment_pk", range_key = "list_sk" },
      ]
    }
  }

  # Every attribute a key or an index uses must be declared once, and only those.
  table_attributes = {
    for role, t in local.tables : role => distinct(compact(concat(
      [t.hash_key, t.range_key],
      flatten([for i in t.indexes : [i.hash_key, i.range_key]]),
    )))
  }
}

resource "aws_dynamodb_table" "this" {
  for_each = local.tables

  name                        = each.value.name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = each.value.hash_key
  range_key                   = each.value.range_key
  deletion_protection_enabled = var.table_deletion_protection

  dynamic "attribute" {
    for_each = local.table_attributes[each.key]
    content {
      name = attribute.value
      type = "S"
    }
  }

  dynamic "global_secondary_index" {
    for_each = each.value.indexes
    content {
      name            = global_secondary_index.value.name
      hash_key        = global_secondary_index.value.hash_key
      range_key       = global_secondary_index.value.range_key
      projection_type = try(global_secondary_index.value.projection, "ALL")
    }
  }

  dynamic "ttl" {
    for_each = each.value.ttl == null ? [] : [each.value.ttl]
    content {
      attribute_name = ttl.value
      enabled        = true
    }
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.data.arn
  }

  point_in_time_recovery {
    enabled = true
  }

  tags = merge(var.tags, { "callpipe:table" = each.key })
}
