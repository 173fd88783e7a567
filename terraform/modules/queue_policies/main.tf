# Each DLQ accepts dead letters from its own stage queue only (RedriveAllowPolicy byQueue).
#
# Kept apart from the data module: moto does not implement RedriveAllowPolicy and the provider waits on it, so the
# local CI apply (envs/local) leaves this module out. It sits in its own resource because the DLQ cannot name its
# source queue's ARN inline: the source queue's redrive policy already depends on the DLQ.
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  for_each = var.queues

  queue_url = each.value.dlq_url
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [each.value.arn]
  })
}
