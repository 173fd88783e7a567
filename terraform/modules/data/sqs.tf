# Stage queues and their DLQs. The source of truth for names and visibility timeouts is queues/topology.py:
#   queue {prefix}-{stage}, DLQ {prefix}-{stage}-dlq, redrive maxReceiveCount (default 5), retention 14 days.
# The visibility timeout is the consumer's heartbeat unit, not a bound on a handler's run time.
# `callpipe bootstrap --verify` checks these against the code. The development-only `echo` stage is not deployed.
#
# The DLQs' redrive-allow policies live in modules/queue_policies (moto does not implement RedriveAllowPolicy, and the
# local CI apply of this module must not hang on it).

locals {
  stages = {
    poll       = { visibility_timeout_seconds = 120 }
    fetch      = { visibility_timeout_seconds = 300 }
    transcribe = { visibility_timeout_seconds = 900 }
    analyze    = { visibility_timeout_seconds = 300 }
  }
}

resource "aws_sqs_queue" "dlq" {
  for_each = local.stages

  name                       = "${var.name_prefix}-${each.key}-dlq"
  message_retention_seconds  = var.message_retention_seconds
  visibility_timeout_seconds = each.value.visibility_timeout_seconds
  sqs_managed_sse_enabled    = true
  tags                       = merge(var.tags, { "callpipe:stage" = each.key, "callpipe:role" = "dlq" })
}

resource "aws_sqs_queue" "stage" {
  for_each = local.stages

  name                       = "${var.name_prefix}-${each.key}"
  message_retention_seconds  = var.message_retention_seconds
  visibility_timeout_seconds = each.value.visibility_timeout_seconds
  receive_wait_time_seconds  = 20
  sqs_managed_sse_enabled    = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq[each.key].arn
    maxReceiveCount     = var.max_receive_count
  })

  tags = merge(var.tags, { "callpipe:stage" = each.key, "callpipe:role" = "queue" })
}
