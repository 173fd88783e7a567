output "schedule_arn" {
  description = "ARN of the polling schedule."
  value       = aws_scheduler_schedule.poll.arn
}

output "schedule_expression" {
  description = "How often a polling journey starts."
  value       = local.schedule_expression
}
