output "api_url" {
  description = "Base URL of the API."
  value       = module.compute.api_url
}

output "queue_urls" {
  description = "Stage (and \"<stage>-dlq\") to queue URL."
  value       = module.data.queue_urls
}

output "table_names" {
  description = "Table role to table name."
  value       = module.data.table_names
}

output "bucket_names" {
  description = "Bucket role to bucket name."
  value       = module.data.bucket_names
}

output "ecr_repository_url" {
  description = "Push the image here."
  value       = module.compute.ecr_repository_url
}

output "cluster_name" {
  description = "ECS cluster."
  value       = module.compute.cluster_name
}

output "secret_arns" {
  description = "Secrets to fill after the first apply (put-secret-value)."
  value       = module.config.secret_arns
}

output "athena_workgroup" {
  description = "Athena workgroup for analytics queries."
  value       = module.analytics.athena_workgroup
}

output "glue_table" {
  description = "Analytics table (database.table)."
  value       = module.analytics.glue_table
}

output "alarm_topic_arn" {
  description = "SNS topic of all alarms."
  value       = module.observability.alarm_topic_arn
}

output "sso" {
  description = "Cognito sign-in (null unless var.cognito.enabled): issuer, client id, user pool, hosted UI, groups."
  value = var.cognito.enabled ? {
    issuer        = module.auth[0].issuer
    client_id     = module.auth[0].client_id
    user_pool_id  = module.auth[0].user_pool_id
    hosted_ui_url = module.auth[0].hosted_ui_url
    groups        = module.auth[0].groups
  } : null
}

