variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer-managed key that encrypts Athena query results."
  type        = string
}

variable "results_bucket" {
  description = "The {prefix}-results bucket (name, arn): analytics lines under analytics/calls/dt=YYYY-MM-DD/, Athena results under athena-results/."
  type = object({
    name = string
    arn  = string
  })
}

variable "analytics_columns" {
  description = <<-EOT
    Columns of one analytics line (a JSON object per line, written by the analyze stage). Must follow the code's
    analytics record; extra JSON keys are ignored, missing ones read as NULL. Timestamps are ISO-8601 strings.
  EOT
  type = list(object({
    name    = string
    type    = string
    comment = optional(string)
  }))
  # The analyze stage's analytics line (workers/analyze.py, _analytics_line).
  default = [
    { name = "task_id", type = "string", comment = "WXCC task (call) id" },
    { name = "org_id", type = "string" },
    { name = "journey_id", type = "string" },
    { name = "ended_at", type = "string", comment = "ISO-8601 end of the call (UTC)" },
    { name = "agent", type = "string", comment = "agent name; null for IVR-only calls" },
    { name = "queue", type = "string", comment = "WXCC queue name" },
    { name = "call_seconds", type = "double" },
    { name = "billed_audio_seconds", type = "double", comment = "audio sent for transcription after trimming" },
    { name = "language", type = "string", comment = "ISO 639-1" },
    { name = "reason_for_call", type = "string" },
    { name = "topics", type = "array<string>" },
    { name = "resolved", type = "boolean" },
    { name = "customer_sentiment", type = "string", comment = "very_negative .. very_positive" },
    { name = "agent_sentiment", type = "string", comment = "very_negative .. very_positive" },
    { name = "qa_flags", type = "array<string>" },
    { name = "tokens", type = "bigint", comment = "LLM prompt + completion tokens" },
    { name = "pipeline_version", type = "int" },
    { name = "prompt_version", type = "string" },
  ]
}

variable "partition_projection_start" {
  description = "First dt (YYYY-MM-DD) Athena's partition projection considers."
  type        = string
  default     = "2024-01-01"
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Athena cancels a query of this workgroup that would scan more bytes (cost guard)."
  type        = number
  default     = 10737418240
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
