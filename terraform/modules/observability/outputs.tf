output "log_group_names" {
  description = "Container role (api, poll, fetch, transcribe, analyze, journey-starter) to log group name."
  value       = { for k, g in aws_cloudwatch_log_group.service : k => g.name }
}

output "log_group_arns" {
  description = "Service to log group ARN."
  value       = { for k, g in aws_cloudwatch_log_group.service : k => g.arn }
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies."
  value       = aws_sns_topic.alarms.arn
}
