output "glue_database" {
  description = "Glue database of the analytics table."
  value       = aws_glue_catalog_database.this.name
}

output "glue_table" {
  description = "Analytics table (database.table)."
  value       = "${aws_glue_catalog_database.this.name}.${aws_glue_catalog_table.calls.name}"
}

output "athena_workgroup" {
  description = "Athena workgroup to run analytics queries in."
  value       = aws_athena_workgroup.this.name
}

output "glue_tables" {
  description = "Every table of the analytics database (database.table): calls, transcripts, analyses, journey_logs."
  value = {
    for t in [
      aws_glue_catalog_table.calls,
      aws_glue_catalog_table.transcripts,
      aws_glue_catalog_table.analyses,
      aws_glue_catalog_table.journey_logs,
    ] : t.name => "${aws_glue_catalog_database.this.name}.${t.name}"
  }
}

output "athena_named_queries" {
  description = "Ids of the example queries saved in the workgroup."
  value = {
    sentiment_by_queue_per_week = aws_athena_named_query.sentiment_by_queue_per_week.id
    unresolved_negative_calls   = aws_athena_named_query.unresolved_negative_calls.id
    failure_reasons_per_journey = aws_athena_named_query.failure_reasons_per_journey.id
  }
}
