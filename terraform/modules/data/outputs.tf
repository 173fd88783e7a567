output "stages" {
  description = "The deployed pipeline stages, in pipeline order."
  value       = ["poll", "fetch", "transcribe", "analyze"]
}

output "queues" {
  description = "Per stage: the work queue and its DLQ (name, URL, ARN)."
  value = {
    for stage in keys(local.stages) : stage => {
      name                       = aws_sqs_queue.stage[stage].name
      url                        = aws_sqs_queue.stage[stage].url
      arn                        = aws_sqs_queue.stage[stage].arn
      dlq_name                   = aws_sqs_queue.dlq[stage].name
      dlq_url                    = aws_sqs_queue.dlq[stage].url
      dlq_arn                    = aws_sqs_queue.dlq[stage].arn
      visibility_timeout_seconds = aws_sqs_queue.stage[stage].visibility_timeout_seconds
    }
  }
}

output "queue_urls" {
  description = "Stage name (and \"<stage>-dlq\") to queue URL."
  value = merge(
    { for stage, q in aws_sqs_queue.stage : stage => q.url },
    { for stage, q in aws_sqs_queue.dlq : "${stage}-dlq" => q.url },
  )
}

output "tables" {
  description = "Table role (tracking, journeys, coordination, license, analytics) to name, ARN and index ARNs."
  value = {
    for role, t in aws_dynamodb_table.this : role => {
      name       = t.name
      arn        = t.arn
      index_arns = { for i in local.tables[role].indexes : i.name => "${t.arn}/index/${i.name}" }
    }
  }
}

output "table_names" {
  description = "Table role to table name."
  value       = { for role, t in aws_dynamodb_table.this : role => t.name }
}

output "buckets" {
  description = "Bucket role (recordings, results, messages, logs, simulator) to name and ARN."
  value = {
    for role, b in aws_s3_bucket.this : role => {
      name = b.id
      arn  = b.arn
    }
  }
}

output "bucket_names" {
  description = "Bucket role to bucket name."
  value       = { for role, b in aws_s3_bucket.this : role => b.id }
}

output "kms_key_arn" {
  description = "ARN of the deployment's customer-managed KMS key."
  value       = aws_kms_key.data.arn
}

output "alb_log_prefix" {
  description = "Prefix in the log bucket that the bucket policy opens to ALB access-log delivery."
  value       = "alb"
}
