output "dlq_redrive_allow_policies" {
  description = "Stage to the redrive-allow policy set on its DLQ."
  value       = { for stage, p in aws_sqs_queue_redrive_allow_policy.dlq : stage => p.redrive_allow_policy }
}
