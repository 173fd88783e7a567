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
