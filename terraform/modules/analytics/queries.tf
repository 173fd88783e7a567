# Example queries, saved in the workgroup (Athena console → Saved queries). The calls table holds one line per call and
# pipeline version (a reprocess adds one): the first two keep each call's latest version only.

resource "aws_athena_named_query" "sentiment_by_queue_per_week" {
  name        = "sentiment-by-queue-per-week"
  description = "Customer sentiment per queue and week over the last 12 weeks (latest analysis of each call)."
  database    = aws_glue_catalog_database.this.name
  workgroup   = aws_athena_workgroup.this.id
  query       = <<-SQL
    WITH latest AS (
      SELECT *, row_number() OVER (PARTITION BY task_id ORDER BY pipeline_version DESC) AS rn
      FROM calls
      WHERE dt >= date_format(current_date - INTERVAL '84' DAY, '%Y-%m-%d')
    )
    SELECT queue,
           date_trunc('week', date(dt)) AS week,
           customer_sentiment,
           count(*) AS calls
    FROM latest
    WHERE rn = 1
    GROUP BY 1, 2, 3
    ORDER BY week DESC, queue, customer_sentiment
  SQL
}

resource "aws_athena_named_query" "unresolved_negative_calls" {
  name        = "unresolved-negative-calls"
  description = "The last 30 days' unresolved calls with a negative customer, newest first (latest analysis of each call)."
  database    = aws_glue_catalog_database.this.name
  workgroup   = aws_athena_workgroup.this.id
  query       = <<-SQL
    WITH latest AS (
      SELECT *, row_number() OVER (PARTITION BY task_id ORDER BY pipeline_version DESC) AS rn
      FROM calls
      WHERE dt >= date_format(current_date - INTERVAL '30' DAY, '%Y-%m-%d')
    )
    SELECT task_id, ended_at, queue, agent, reason_for_call, customer_sentiment, qa_flags
    FROM latest
    WHERE rn = 1
      AND resolved = false
      AND customer_sentiment IN ('negative', 'very_negative')
    ORDER BY ended_at DESC
    LIMIT 200
  SQL
}

resource "aws_athena_named_query" "failure_reasons_per_journey" {
  name        = "failure-reasons-per-journey"
  description = "Why calls failed or were skipped, per journey and stage, for journeys of the last 30 days."
  database    = aws_glue_catalog_database.this.name
  workgroup   = aws_athena_workgroup.this.id
  query       = <<-SQL
    SELECT journey_id, outcome, stage, reason, count(*) AS calls
    FROM journey_logs
    WHERE dt >= date_format(current_date - INTERVAL '30' DAY, '%Y-%m-%d')
      AND outcome IN ('failed', 'skipped')
    GROUP BY 1, 2, 3, 4
    ORDER BY journey_id, calls DESC
  SQL
}
