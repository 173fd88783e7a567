# Glue catalog over the analyze stage's JSON lines, s3://{prefix}-results/analytics/calls/dt=YYYY-MM-DD/part-*.jsonl,
# partitioned by dt through partition projection (no crawler, no MSCK REPAIR: a new day is queryable at once),
# and an Athena workgroup that enforces encrypted results and a per-query scan limit. The transcripts, analyses and
# journey_logs tables are in tables.tf, the saved example queries in queries.tf.
#
#   SELECT customer_sentiment, count(*) FROM "<prefix>_analytics"."calls" WHERE dt >= '2026-01-01' GROUP BY 1;

locals {
  database_name = replace("${var.name_prefix}_analytics", "-", "_")
  calls_prefix  = "s3://${var.results_bucket.name}/analytics/calls"
}

resource "aws_glue_catalog_database" "this" {
  name        = local.database_name
  description = "callpipe analytics of ${var.name_prefix}"
}

resource "aws_glue_catalog_table" "calls" {
  name          = "calls"
  database_name = aws_glue_catalog_database.this.name
  description   = "One row per analysed call (JSON lines), partitioned by dt = the UTC day the call ended."
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    EXTERNAL                      = "TRUE"
    classification                = "json"
    "projection.enabled"          = "true"
    "projection.dt.type"          = "date"
    "projection.dt.format"        = "yyyy-MM-dd"
    "projection.dt.range"         = "${var.partition_projection_start},NOW"
    "projection.dt.interval"      = "1"
    "projection.dt.interval.unit" = "DAYS"
    "storage.location.template"   = "${local.calls_prefix}/dt=$${dt}/"
  }

  partition_keys {
    name = "dt"
    type = "string"
  }

  storage_descriptor {
    location      = "${local.calls_prefix}/"
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

    ser_de_info {
      name                  = "json"
      serialization_library = "org.openx.data.jsonserde.JsonSerDe"
      parameters = {
        "ignore.malformed.json" = "true"
        "case.insensitive"      = "true"
      }
    }

    dynamic "columns" {
      for_each = var.analytics_columns
      content {
        name    = columns.value.name
        type    = columns.value.type
        comment = columns.value.comment
      }
    }
  }
}

resource "aws_athena_workgroup" "this" {
  name        = var.name_prefix
  description = "callpipe analytics queries"

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query

    result_configuration {
      output_location = "s3://${var.results_bucket.name}/athena-results/"

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = var.kms_key_arn
      }
    }
  }

  tags = var.tags
}
