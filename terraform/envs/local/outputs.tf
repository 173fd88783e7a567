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
